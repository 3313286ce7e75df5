using System.Security.Cryptography;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;
using Sagas.Persistence;

namespace Sagas.ScanSessions.Data;

/// <summary>
/// A session's Google Drive access token, encrypted with Data Protection (key ring in the database). The token never
/// travels in a message, so it is in no broker queue, <c>_error</c> queue or <c>failed_messages</c> body; this row is
/// the only copy, and it is deleted in the transaction that ends the session.
/// </summary>
public class ScanSessionSecret
{
    public Guid SessionId { get; set; }

    /// <summary>The Data Protection payload (base64url), bound to <see cref="SessionId"/>: it does not open for another session.</summary>
    public string ProtectedDriveToken { get; set; } = "";

    public DateTimeOffset CreatedAt { get; set; }
}

/// <summary>Stores, reads and forgets the Drive token of a session (scoped: it works on the caller's context and transaction).</summary>
public sealed class ScanSessionSecrets(SagasDbContext db, IDataProtectionProvider protection, TimeProvider clock)
{
    private const string Purpose = "Sagas.ScanSessions.DriveToken.v1";

    /// <summary>Adds the encrypted token to the context; it is written by the caller's <c>SaveChanges</c>, with the session row.</summary>
    public void AddDriveToken(Guid sessionId, string token) =>
        db.Add(new ScanSessionSecret
        {
            SessionId = sessionId,
            ProtectedDriveToken = Protector(sessionId).Protect(token),
            CreatedAt = clock.GetUtcNow(),
        });

    /// <summary>The token, or null when the session has none (never given, or the session already ended).</summary>
    /// <exception cref="CryptographicException">The payload cannot be opened: its key is gone or it was altered.</exception>
    public async Task<string?> ReadDriveTokenAsync(Guid sessionId, CancellationToken cancellationToken)
    {
        var stored = await db.Set<ScanSessionSecret>().AsNoTracking()
            .Where(s => s.SessionId == sessionId)
            .Select(s => s.ProtectedDriveToken)
            .SingleOrDefaultAsync(cancellationToken);
        return stored is null ? null : Protector(sessionId).Unprotect(stored);
    }

    /// <summary>Deletes the session's secrets; call it in the transaction that ends the session.</summary>
    public static Task ForgetAsync(SagasDbContext db, Guid sessionId, CancellationToken cancellationToken) =>
        db.Set<ScanSessionSecret>().Where(s => s.SessionId == sessionId).ExecuteDeleteAsync(cancellationToken);

    private IDataProtector Protector(Guid sessionId) => protection.CreateProtector(Purpose, sessionId.ToString("D"));
}
