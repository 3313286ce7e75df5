using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace Sagas.Api.Security;

/// <summary>
/// Accepts <c>X-Api-Key: key</c> or <c>Authorization: ApiKey key</c>; WebSocket upgrades may pass
/// <c>?access_token=key</c> because browsers cannot set headers on a WebSocket.
/// </summary>
public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    SecurityOptions security) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";
    public const string HeaderName = "X-Api-Key";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var presented = ReadKey();
        if (presented is null)
            return Task.FromResult(AuthenticateResult.NoResult());

        foreach (var entry in security.ApiKeys)
        {
            if (ApiKeyHash.Matches(presented, entry.Sha256))
            {
                var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, entry.Name)], SchemeName);
                return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
            }
        }

        return Task.FromResult(AuthenticateResult.Fail("The API key is not valid."));
    }

    private string? ReadKey()
    {
        if (Request.Headers.TryGetValue(HeaderName, out var header) && !string.IsNullOrWhiteSpace(header))
            return header.ToString().Trim();

        var authorization = Request.Headers.Authorization.ToString();
        if (authorization.StartsWith("ApiKey ", StringComparison.OrdinalIgnoreCase))
            return authorization["ApiKey ".Length..].Trim();

        if (Context.WebSockets.IsWebSocketRequest && Request.Query.TryGetValue("access_token", out var token) && !string.IsNullOrWhiteSpace(token))
            return token.ToString();

        return null;
    }
}
