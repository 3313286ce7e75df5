using MassTransit;
using Microsoft.EntityFrameworkCore;
using Sagas.Contracts.ScanSessions;
using Sagas.Messaging;
using Sagas.Messaging.Outbox;
using Sagas.Persistence;
using Sagas.ScanSessions.Data;
using Sagas.ScanSessions.Matching;
using Sagas.ScanSessions.Sources;

namespace Sagas.ScanSessions.Consumers;

/// <summary>
/// Lists a session's source, stores the session row with its total, then publishes the files in
/// <see cref="ScanFileChunk"/>s and <see cref="ScanFilesDispatched"/>. A redelivery lists again (the listing is deterministic) and
/// publishes again: workers count a file once whatever arrives twice. A session with no file or no code fails with
/// <see cref="ScanSessionFailed"/> through the outbox.
/// </summary>
public sealed class ScanSessionDispatcher(
    SagasDbContext db,
    OutboxWriter outbox,
    ScanSourceExpander expander,
    ScanSessionsOptions options,
    TimeProvider clock) : IConsumer<DispatchScanSession>
{
    public async Task Consume(ConsumeContext<DispatchScanSession> context)
    {
        var message = context.Message;
        var session = await db.Set<ScanSession>().SingleOrDefaultAsync(s => s.Id == message.SessionId, context.CancellationToken);
        // A cancelled row already told the saga (ScanSessionCancelled); a finished one has nothing left to send.
        if (session is { Status: not (ScanSessionStatus.Dispatching or ScanSessionStatus.Scanning) })
            return;

        var codeError = HoleCodeList.Validate(message.TargetCodes);
        var codes = codeError is null ? HoleCodeList.Distinct(message.TargetCodes) : [];
        var listing = codeError is not null
            ? new ScanSourceListing([], [], "", codeError)
            : await expander.ListAsync(message.Source, context.CancellationToken);

        if (session is null)
        {
            session = new ScanSession { Id = message.SessionId, CreatedAt = clock.GetUtcNow(), RequestedBy = message.RequestedBy };
            db.Add(session);
        }

        if (session.Status == ScanSessionStatus.Dispatching)
        {
            await using var transaction = await db.Database.BeginTransactionAsync(context.CancellationToken);
            // Listing takes a while: a cancel that committed meanwhile bumped the revision, so this write fails on the
            // concurrency check and the retry finds the row cancelled instead of turning it back into scanning.
            session.Revision++;
            session.CodesJson = ScanSessionJson.Write(codes);
            session.SourceDescription = listing.Description.Length > 1000 ? listing.Description[..1000] : listing.Description;
            if (listing.Error is { } error)
            {
                session.Status = ScanSessionStatus.Failed;
                session.Error = error.Length > 2000 ? error[..2000] : error;
                session.CompletedAt = clock.GetUtcNow();
                await ScanSessionSecrets.ForgetAsync(db, session.Id, context.CancellationToken);
                outbox.Add(new ScanSessionFailed(session.Id, error));
            }
            else
            {
                session.Status = ScanSessionStatus.Scanning;
                session.TotalFiles = listing.Files.Count;
                session.UploadsJson = ScanSessionJson.Write(listing.UploadKeys);
                session.DispatchedAt = clock.GetUtcNow();
            }

            await db.SaveChangesAsync(context.CancellationToken);
            await transaction.CommitAsync(context.CancellationToken);
            outbox.Flush();
        }

        if (session.Status != ScanSessionStatus.Scanning)
            return;

        var files = listing.Files.Select(file => new ScanFile(session.Id, file.Index, file.Name, file.Kind, file.Locator, file.Error));
        foreach (var messages in Chunks(session.Id, files, options.FilesPerMessage).Chunk(options.DispatchBatchSize))
            await context.PublishBatch(messages, context.CancellationToken);

        await context.Publish(new ScanFilesDispatched(session.Id, listing.Files.Count), context.CancellationToken);
    }

    /// <summary>
    /// Amazon SQS refuses a message over 256 KiB, and a manifest's signed URLs or S3 keys can be kilobytes each: a chunk
    /// closes at this many characters of names, locators and errors, which even escaped as JSON stays far below it.
    /// </summary>
    internal const int MaxChunkCharacters = 32_000;

    /// <summary>The files in order, at most <paramref name="filesPerMessage"/> and <see cref="MaxChunkCharacters"/> per chunk (a longer file goes alone).</summary>
    internal static IEnumerable<ScanFileChunk> Chunks(Guid sessionId, IEnumerable<ScanFile> files, int filesPerMessage)
    {
        var chunk = new List<ScanFile>(filesPerMessage);
        var characters = 0;
        foreach (var file in files)
        {
            var size = file.Name.Length + file.Locator.Length + (file.Error?.Length ?? 0);
            if (chunk.Count > 0 && (chunk.Count == filesPerMessage || characters + size > MaxChunkCharacters))
            {
                yield return new ScanFileChunk(sessionId, chunk);
                chunk = new List<ScanFile>(filesPerMessage);
                characters = 0;
            }

            chunk.Add(file);
            characters += size;
        }

        if (chunk.Count > 0)
            yield return new ScanFileChunk(sessionId, chunk);
    }
}

public sealed class ScanSessionDispatcherDefinition : ConsumerDefinition<ScanSessionDispatcher>
{
    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<ScanSessionDispatcher> consumerConfigurator, IRegistrationContext context)
    {
        // No in-memory outbox: a session's chunks leave as they are published, not held in memory.
        endpointConfigurator.UseDatabaseRetry(context, retry =>
        {
            retry.AlsoRetry<ScanSourceUnavailableException>();
            retry.RetryLimit = 8;
            retry.MinInterval = TimeSpan.FromMilliseconds(100);
            retry.MaxInterval = TimeSpan.FromSeconds(10);
            retry.IntervalDelta = TimeSpan.FromMilliseconds(200);
        });
    }
}
