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
    /// <summary>Who holds the key; appears in logs and as the caller's name, the key never does.</summary>
    public string Name { get; set; } = "";

    public string Sha256 { get; set; } = "";
}

public sealed class JwtOptions
{
    public string? Authority { get; set; }

    public string? Audience { get; set; }
}
