using Microsoft.Extensions.DependencyInjection;

namespace Sagas.PromptAnalyses.Platforms;

/// <summary>The platforms this process can ask, by name.</summary>
public interface IAnalysisPlatformCatalog
{
    /// <summary>Names that resolve, real or simulated stand-ins, in <see cref="PlatformNames.All"/> order.</summary>
    IReadOnlyList<string> Names { get; }

    bool Contains(string name);

    /// <summary>The platform for <paramref name="name"/> (case-insensitive).</summary>
    /// <exception cref="KeyNotFoundException">The platform is unknown, disabled and not stood in for.</exception>
    IAnalysisPlatform Get(string name);
}

/// <summary>
/// Resolves platforms as keyed services on each call, so the HTTP clients behind them come fresh from
/// IHttpClientFactory (handler rotation) instead of being pinned in a singleton.
/// </summary>
internal sealed class AnalysisPlatformCatalog(IServiceProvider services, IReadOnlyList<string> names) : IAnalysisPlatformCatalog
{
    public IReadOnlyList<string> Names { get; } = names;

    public bool Contains(string name) => PlatformNames.Normalize(name) is { } normalized && Names.Contains(normalized);

    public IAnalysisPlatform Get(string name)
    {
        var normalized = PlatformNames.Normalize(name);
        if (normalized is null || !Names.Contains(normalized))
        {
            throw new KeyNotFoundException(
                $"Platform '{name}' is not available here. Available: {string.Join(", ", Names)}. " +
                $"Enable it under {PlatformsOptions.SectionName} or let the simulated platform stand in.");
        }

        return services.GetRequiredKeyedService<IAnalysisPlatform>(normalized);
    }
}
