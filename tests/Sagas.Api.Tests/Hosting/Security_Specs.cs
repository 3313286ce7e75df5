using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Testing;
using Sagas.Api.Security;

namespace Sagas.Api.Tests.Hosting;

public sealed class When_the_api_runs_outside_development_with_api_keys : IClassFixture<ProductionApi>
{
    private readonly ProductionApi _api;

    public When_the_api_runs_outside_development_with_api_keys(ProductionApi api) => _api = api;

    [Fact]
    public async Task Should_reject_a_call_without_a_key_with_problem_details()
    {
        using var client = _api.CreateClient();
        using var response = await client.PostAsync(new Uri("/api/system/worker-check", UriKind.Relative), null);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<ProblemDetails>();
        Assert.Equal(401, problem!.Status);
    }

    [Fact]
    public async Task Should_reject_a_wrong_key()
    {
        using var client = _api.CreateClient();
        client.DefaultRequestHeaders.Add(ApiKeyAuthenticationHandler.HeaderName, "not-the-key");
        using var response = await client.PostAsync(new Uri("/api/system/worker-check", UriKind.Relative), null);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Theory]
    [InlineData(ApiKeyAuthenticationHandler.HeaderName, ProductionApi.Key)]
    [InlineData("Authorization", "ApiKey " + ProductionApi.Key)]
    public async Task Should_accept_the_configured_key(string header, string value)
    {
        using var client = _api.CreateClient();
        client.DefaultRequestHeaders.TryAddWithoutValidation(header, value);
        using var response = await client.PostAsync(new Uri("/api/system/worker-check", UriKind.Relative), null);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Theory]
    [InlineData("/health/live")]
    [InlineData("/health/ready")]
    [InlineData("/health")]
    public async Task Should_leave_probes_open(string path)
    {
        using var client = _api.CreateClient();
        using var response = await client.GetAsync(new Uri(path, UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}

/// <summary>Production environment with one hashed API key, otherwise the embedded defaults.</summary>
public sealed class ProductionApi : WebApplicationFactory<Program>
{
    public const string Key = "test-key-5f2d1c";
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "sagas-api-tests-" + Guid.NewGuid().ToString("N"));

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Production");
        builder.UseSetting("Database:DataDirectory", _dataDirectory);
        builder.UseSetting("Security:ApiKeys:0:Name", "test-client");
        builder.UseSetting("Security:ApiKeys:0:Sha256", ApiKeyHash.Compute(Key));
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing && Directory.Exists(_dataDirectory))
            Directory.Delete(_dataDirectory, recursive: true);
    }
}
