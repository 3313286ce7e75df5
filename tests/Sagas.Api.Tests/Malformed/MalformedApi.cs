using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Sagas.Api.Tests.Malformed;

/// <summary>
/// The embedded API with the mutation rate limit lifted: the barrage sends hundreds of changing requests, and a 429
/// would hide the answer each malformed request really gets.
/// </summary>
public sealed class MalformedApi : WebApplicationFactory<Program>
{
    public const int MaxJsonBodyBytes = 64 * 1024;
    public const int MaxMessageBytes = 64 * 1024;
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "sagas-api-tests-" + Guid.NewGuid().ToString("N"));

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Development");
        builder.UseSetting("Database:DataDirectory", _dataDirectory);
        builder.UseSetting("Api:MutationsPerMinute", "1000000");
        // Small limits keep the oversized cases fast; the limits themselves are what is under test.
        builder.UseSetting("Api:MaxJsonBodyBytes", MaxJsonBodyBytes.ToString(global::System.Globalization.CultureInfo.InvariantCulture));
        builder.UseSetting("Api:Realtime:MaxMessageBytes", MaxMessageBytes.ToString(global::System.Globalization.CultureInfo.InvariantCulture));
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing && Directory.Exists(_dataDirectory))
            Directory.Delete(_dataDirectory, recursive: true);
    }
}

/// <summary>One HTTP route of the running app, read from its EndpointDataSource so a new route cannot be left out.</summary>
public sealed partial record ApiRoute(string Method, string Template, bool AllowsAnonymous, bool AcceptsBody, bool BodyOptional)
{
    /// <summary>
    /// A route parameter naming one of our resources. The OpenAPI and Scalar documentation routes' {documentName} is
    /// left out: those are the frameworks' own public pages (an unknown document is their plain-text 404 or the viewer).
    /// </summary>
    public bool HasId => IdParameter().IsMatch(Template) && !Template.Contains("{documentName", StringComparison.Ordinal);

    public bool HasGuidId => Template.Contains(":guid}", StringComparison.Ordinal);

    public override string ToString() => $"{Method} {Template}";

    /// <summary>The template with every route parameter replaced by <paramref name="value"/> (escaped).</summary>
    public string PathWith(string value) => IdParameter().Replace(Template, Uri.EscapeDataString(value));

    public static IReadOnlyList<ApiRoute> Of(IServiceProvider services)
    {
        var routes = new List<ApiRoute>();
        foreach (var endpoint in services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>())
        {
            var template = "/" + (endpoint.RoutePattern.RawText ?? "").TrimStart('/');
            var methods = endpoint.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods is { Count: > 0 } declared
                ? declared
                : ["GET"];
            var anonymous = endpoint.Metadata.GetMetadata<IAllowAnonymous>() is not null;
            var accepts = endpoint.Metadata.GetMetadata<IAcceptsMetadata>();
            routes.AddRange(methods.Select(method => new ApiRoute(method, template, anonymous, accepts is not null, accepts?.IsOptional == true)));
        }

        return routes.Distinct().OrderBy(r => r.Template, StringComparer.Ordinal).ThenBy(r => r.Method, StringComparer.Ordinal).ToList();
    }

    [GeneratedRegex(@"\{\*{0,2}[A-Za-z]+[^}]*\}")]
    private static partial Regex IdParameter();
}

/// <summary>What a request got back, and whether it is an acceptable answer to bad input.</summary>
public static class Answers
{
    public static async Task<string?> CheckAsync(string what, HttpResponseMessage response, Func<int, bool> expected, string expectation)
    {
        var status = (int)response.StatusCode;
        var body = await response.Content.ReadAsStringAsync();
        if (!expected(status))
            return $"{what}: {status}, expected {expectation}. Body: {Shorten(body)}";
        if (status >= 400 && response.Content.Headers.ContentType?.MediaType != "application/problem+json")
            return $"{what}: {status} with content type '{response.Content.Headers.ContentType}', expected application/problem+json. Body: {Shorten(body)}";
        if (status >= 400 && !body.Contains("\"status\":" + status.ToString(global::System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal))
            return $"{what}: {status} whose ProblemDetails does not carry that status. Body: {Shorten(body)}";
        return null;
    }

    public static bool ClientError(int status) => status is >= 400 and < 500;

    public static bool NoServerError(int status) => status < 500;

    public static HttpRequestMessage Request(string method, string path, byte[]? body = null, string? contentType = "application/json")
    {
        var request = new HttpRequestMessage(new HttpMethod(method), new Uri(path, UriKind.Relative));
        if (body is not null)
        {
            request.Content = new ByteArrayContent(body);
            if (contentType is not null)
                request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        }

        return request;
    }

    public static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    public static void AssertNone(IReadOnlyCollection<string> failures, int checkedCount)
    {
        Xunit.Assert.True(failures.Count == 0, $"{failures.Count} of {checkedCount} cases failed:\n" + string.Join("\n", failures));
    }

    private static string Shorten(string body) => body.Length <= 300 ? body : body[..300] + "…";

    public static bool IsOk(HttpStatusCode status) => status == HttpStatusCode.OK;
}
