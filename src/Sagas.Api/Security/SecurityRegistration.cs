using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Sagas.Core.Configuration;

namespace Sagas.Api.Security;

public static class SecurityRegistration
{
    private const string SelectorScheme = "Sagas";

    /// <summary>
    /// API keys and/or JWT bearer; every endpoint requires an authenticated caller unless it opts out
    /// (health, metrics, the dashboard's static files). Outside Development, start-up refuses to run unauthenticated.
    /// </summary>
    public static WebApplicationBuilder AddApiSecurity(this WebApplicationBuilder builder)
    {
        builder.Services.AddValidatedOptions<SecurityOptions>(builder.Configuration, SecurityOptions.SectionName);
        var options = builder.Configuration.ReadValidatedOptions<SecurityOptions>(SecurityOptions.SectionName);

        var anonymousDevelopment = !options.HasApiKeys && !options.HasJwt;
        if (anonymousDevelopment)
            RequireLoopbackDevelopment(builder);

        var authentication = builder.Services.AddAuthentication(SelectorScheme);
        authentication.AddPolicyScheme(SelectorScheme, "API key or bearer token", scheme =>
            scheme.ForwardDefaultSelector = context =>
            {
                if (anonymousDevelopment)
                    return LocalDeveloperAuthenticationHandler.SchemeName;
                var authorization = context.Request.Headers.Authorization.ToString();
                return options.HasJwt && authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
                    ? JwtBearerDefaults.AuthenticationScheme
                    : ApiKeyAuthenticationHandler.SchemeName;
            });
        authentication.AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        authentication.AddScheme<AuthenticationSchemeOptions, LocalDeveloperAuthenticationHandler>(LocalDeveloperAuthenticationHandler.SchemeName, null);
        if (options.HasJwt)
        {
            authentication.AddJwtBearer(jwt =>
            {
                jwt.Authority = options.Jwt.Authority;
                jwt.Audience = options.Jwt.Audience;
                jwt.MapInboundClaims = false;
                // Browsers cannot set headers on a WebSocket: the token may come as ?access_token= on upgrades only.
                jwt.Events = new JwtBearerEvents
                {
                    OnMessageReceived = context =>
                    {
                        if (context.HttpContext.WebSockets.IsWebSocketRequest && context.Request.Query.TryGetValue("access_token", out var token))
                            context.Token = token;
                        return Task.CompletedTask;
                    },
                };
            });
        }

        builder.Services.AddAuthorizationBuilder()
            .SetFallbackPolicy(new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build());
        return builder;
    }

    private static void RequireLoopbackDevelopment(WebApplicationBuilder builder)
    {
        if (!builder.Environment.IsDevelopment())
        {
            throw new SagasConfigurationException(
                $"no authentication is configured and the environment is {builder.Environment.EnvironmentName}. " +
                "Outside Development set Security:ApiKeys (hashed keys) or Security:Jwt:Authority; see docs/api.md.");
        }

        var urls = (builder.Configuration["urls"] ?? builder.Configuration["ASPNETCORE_URLS"] ?? "")
            .Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var exposed = urls.Where(url => !IsLoopback(url)).ToList();
        if (exposed.Count > 0)
        {
            throw new SagasConfigurationException(
                $"no authentication is configured but the API listens on {string.Join(", ", exposed)}. " +
                "Without credentials it may only listen on 127.0.0.1/localhost; configure Security:ApiKeys or Security:Jwt.");
        }
    }

    private static bool IsLoopback(string url)
    {
        var host = url.Replace("://+", "://wildcard", StringComparison.Ordinal).Replace("://*", "://wildcard", StringComparison.Ordinal);
        return Uri.TryCreate(host, UriKind.Absolute, out var uri)
            && (uri.IsLoopback || string.Equals(uri.Host, "localhost", StringComparison.OrdinalIgnoreCase));
    }
}
