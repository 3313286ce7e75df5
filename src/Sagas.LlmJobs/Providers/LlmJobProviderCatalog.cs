namespace Sagas.LlmJobs.Providers;

/// <summary>The enabled providers by name, and the one jobs use when they name none.</summary>
public sealed class LlmJobProviderCatalog
{
    private readonly Dictionary<string, ILlmJobProvider> _providers;

    public LlmJobProviderCatalog(IEnumerable<ILlmJobProvider> providers, LlmJobProvidersOptions options)
    {
        _providers = providers.ToDictionary(p => p.Name, StringComparer.OrdinalIgnoreCase);
        Default = Get(options.Default.Trim());
    }

    public ILlmJobProvider Default { get; }

    public IReadOnlyCollection<string> Names => _providers.Keys;

    public bool TryGet(string? name, out ILlmJobProvider provider)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            provider = Default;
            return true;
        }

        return _providers.TryGetValue(name.Trim(), out provider!);
    }

    public ILlmJobProvider Get(string? name) =>
        TryGet(name, out var provider)
            ? provider
            : throw new KeyNotFoundException($"LLM provider '{name}' is not enabled. Enabled: {string.Join(", ", _providers.Keys)}.");
}
