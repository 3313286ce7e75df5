using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Sagas.Api.Tests.Malformed;

/// <summary>
/// The JSON body limit is Kestrel's (Api:MaxJsonBodyBytes), which the in-memory TestServer does not enforce: this
/// fixture runs the API on real Kestrel on a loopback port.
/// </summary>
public sealed class KestrelMalformedApi : WebApplicationFactory<Program>
{
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "sagas-api-tests-" + Guid.NewGuid().ToString("N"));

    public KestrelMalformedApi()
    {
        UseKestrel(0);
        StartServer();
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Development");
        builder.UseSetting("Database:DataDirectory", _dataDirectory);
        builder.UseSetting("Api:MutationsPerMinute", "1000000");
        builder.UseSetting("Api:MaxJsonBodyBytes", MalformedApi.MaxJsonBodyBytes.ToString(global::System.Globalization.CultureInfo.InvariantCulture));
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing && Directory.Exists(_dataDirectory))
            Directory.Delete(_dataDirectory, recursive: true);
    }
}

public sealed class When_a_body_exceeds_the_json_limit : IClassFixture<KestrelMalformedApi>
{
    private readonly KestrelMalformedApi _api;

    public When_a_body_exceeds_the_json_limit(KestrelMalformedApi api) => _api = api;

    [Fact]
    public async Task Should_answer_413_with_a_problem_on_every_route_taking_a_body()
    {
        using var client = _api.CreateClient();
        var routes = ApiRoute.Of(_api.Services).Where(r => r.Method is "POST" or "PUT" && r.AcceptsBody).ToList();
        Assert.Contains(routes, r => r.Template.StartsWith("/api/projects", StringComparison.Ordinal));

        var oversized = new byte[MalformedApi.MaxJsonBodyBytes + 1];
        new Random(20261123).NextBytes(oversized);
        var failures = new List<string>();
        foreach (var route in routes)
        {
            using var request = Answers.Request(route.Method, route.PathWith(Guid.NewGuid().ToString()), oversized);
            request.Content!.Headers.ContentLength = oversized.Length;
            using var response = await client.SendAsync(request);
            if (await Answers.CheckAsync($"{route} [{oversized.Length} B]", response, status => status == 413, "413") is { } failure)
                failures.Add(failure);
        }

        using var other = await client.GetAsync(new Uri("/api/projects", UriKind.Relative));
        Assert.Equal(global::System.Net.HttpStatusCode.OK, other.StatusCode);
        Answers.AssertNone(failures, routes.Count);
    }
}
