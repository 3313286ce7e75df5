using System.ComponentModel.DataAnnotations;
using Sagas.Core.Configuration;

namespace Sagas.Api.Security;

public sealed class SecurityOptions
{
    public const string SectionName = "Security";

    /// <summary>
    /// API keys as SHA-256 hashes (hex); the keys themselves are never stored. Produce a hash with
    /// <c>dotnet run --project src/Sagas.Api -- --hash-api-key &lt;key&gt;</c>.
    /// </summary>
    public List<ApiKeyEntry> ApiKeys { get; set; } = [];

    /// <summary>JWT bearer tokens from an OpenID Connect authority (e.g. Cognito, Entra ID, Auth0).</summary>
    public JwtOptions Jwt { get; set; } = new();

    public bool HasApiKeys => ApiKeys.Count > 0;

    public bool HasJwt => !string.IsNullOrWhiteSpace(Jwt.Authority);
}

public sealed class ApiKeyEntry
{
    // The value is never echoed: an operator may have put the key itself here.
    private const string Sha256Rule =
        "{0} must be the 64-character hex SHA-256 of the key, not the key itself. " +
        "Compute it with: dotnet run --project src/Sagas.Api -- --hash-api-key <key>";

    /// <summary>Who holds the key; appears in logs and as the caller's name, the key never does.</summary>
    [Required(ErrorMessage = "{0} is empty; name every key's holder.")]
    public string Name { get; set; } = "";

    [Required(ErrorMessage = Sha256Rule)]
    [RegularExpression("^[0-9a-fA-F]{64}$", ErrorMessage = Sha256Rule)]
    public string Sha256 { get; set; } = "";
}

public sealed class JwtOptions
{
    [HttpUrl(Optional = true, ErrorMessage = "{0} must be an absolute https URL of the token issuer.")]
    public string? Authority { get; set; }

    public string? Audience { get; set; }
}
