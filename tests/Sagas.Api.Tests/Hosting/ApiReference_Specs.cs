using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Sagas.Api.Tests.Hosting;

/// <summary>
/// The reference at /docs is for reading and trying our API: the vendor's own buttons (deploy, the AI agent, SDK
/// generation in its developer toolbar, MCP) are switched off, and so is its telemetry.
/// </summary>
public sealed partial class When_the_api_reference_is_opened(EmbeddedApi api) : IClassFixture<EmbeddedApi>
{
    [Fact]
    public async Task Should_hide_the_vendor_buttons()
    {
        using var response = await api.CreateClient().GetAsync(new Uri("/docs", UriKind.Relative));
        var page = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var configuration = Configuration().Match(page);
        Assert.True(configuration.Success, $"no configuration object in the page: {page}");
        using var json = JsonDocument.Parse(configuration.Groups["json"].Value);
        var root = json.RootElement;
        Assert.True(root.TryGetProperty("showDeveloperTools", out var tools) && tools.GetString() == "never", $"developer tools (deploy, SDK generation) shown: {root}");
        Assert.True(root.TryGetProperty("agent", out var agent) && agent.GetProperty("disabled").GetBoolean(), $"AI agent enabled: {root}");
        Assert.True(root.TryGetProperty("mcp", out var mcp) && mcp.GetProperty("disabled").GetBoolean(), $"MCP enabled: {root}");
        Assert.True(root.TryGetProperty("telemetry", out var telemetry) && !telemetry.GetBoolean(), $"telemetry on: {root}");
    }

    // The page hands its configuration to initialize('{base}', {bool}, {configuration}, '{nonce}').
    [GeneratedRegex(@"initialize\(\s*'[^']*',\s*\w+,\s*(?<json>\{.*\})\s*,\s*'[^']*'\s*\)", RegexOptions.Singleline)]
    private static partial Regex Configuration();
}
