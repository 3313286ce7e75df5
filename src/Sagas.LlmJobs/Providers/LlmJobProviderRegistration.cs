using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Sagas.Core.Configuration;
using Sagas.LlmJobs.Providers.OpenAi;
using Sagas.LlmJobs.Providers.Simulated;
using Sagas.Modules.Breakers;

namespace Sagas.LlmJobs.Providers;

public static class LlmJobProviderRegistration
{
    /// <summary>
    /// Reads and validates <c>LlmJobs:Providers</c> now (a bad value stops start-up with a
    /// <see cref="SagasConfigurationException"/>), then registers every enabled provider as an
    /// <see cref="ILlmJobProvider"/> singleton and the <see cref="LlmJobProviderCatalog"/>.
    /// </summary>
    public static IServiceCollection AddLlmJobProviders(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddValidatedOptions<LlmJobProvidersOptions>(configuration, LlmJobProvidersOptions.SectionName);
        var options = configuration.ReadValidatedOptions<LlmJobProvidersOptions>(LlmJobProvidersOptions.SectionName);

        services.TryAddSingleton(TimeProvider.System);
        if (options.Simulated.Enabled)
        {
            services.AddSingleton(sp => new SimulatedLlmJobProvider(
                options.Simulated, sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<SimulatedLlmJobProvider>>()));
            services.AddSingleton<ILlmJobProvider>(sp => Guarded(sp, sp.GetRequiredService<SimulatedLlmJobProvider>()));
        }

        if (options.OpenAi.Enabled)
        {
            services.AddSingleton(sp => new OpenAiLlmJobProvider(
                options.OpenAi, sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<OpenAiLlmJobProvider>>()));
            services.AddSingleton<ILlmJobProvider>(sp => Guarded(sp, sp.GetRequiredService<OpenAiLlmJobProvider>()));
        }

        services.AddSingleton<LlmJobProviderCatalog>();
        services.AddProviderBreakers(configuration);
        return services;
    }

    /// <summary>
    /// With breakers on, every real provider the workflow sees is behind its circuit breakers (docs/circuit-breakers.md).
    /// The simulated one calls no one: its made-up failures would only hold the embedded default's work back.
    /// </summary>
    private static ILlmJobProvider Guarded(IServiceProvider services, ILlmJobProvider provider) =>
        provider.IsSimulated ? provider : services.GetRequiredService<ProviderBreakers>().Guard(
            provider, (inner, breakers) => new BreakerLlmJobProvider(inner, breakers, services.GetRequiredService<TimeProvider>()));
}
