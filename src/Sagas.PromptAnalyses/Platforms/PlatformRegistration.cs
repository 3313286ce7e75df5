using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Polly;
using Refit;
using Sagas.Core.Configuration;
using Sagas.PromptAnalyses.Platforms.Claude;
using Sagas.PromptAnalyses.Platforms.Gemini;
using Sagas.PromptAnalyses.Platforms.OpenAi;
using Sagas.PromptAnalyses.Platforms.Perplexity;
using Sagas.Modules.Usage;
using Sagas.PromptAnalyses.Platforms.Simulated;

namespace Sagas.PromptAnalyses.Platforms;

public static class PlatformRegistration
{
    private static readonly RefitSettings RefitSettings = new(new SystemTextJsonContentSerializer(new JsonSerializerOptions(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    }));

    /// <summary>
    /// Registers <see cref="IAnalysisPlatformCatalog"/>, the enabled platforms (keyed by name), the shared price table
    /// (<c>Prices</c>) and the options. Reads and validates <c>PromptAnalyses:Platforms</c> and the prices now, so bad
    /// configuration stops start-up with a <see cref="SagasConfigurationException"/>.
    /// </summary>
    public static IServiceCollection AddAnalysisPlatforms(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddValidatedOptions<PlatformsOptions>(configuration, PlatformsOptions.SectionName);
        var options = configuration.ReadValidatedOptions<PlatformsOptions>(PlatformsOptions.SectionName);
        services.TryAddSingleton(TimeProvider.System);
        services.AddModelUsage(configuration);

        var names = new List<string>();
        if (options.OpenAi.Enabled)
        {
            services.AddHttpClient(OpenAiPlatform.HttpClientName, client => client.Timeout = Timeout.InfiniteTimeSpan);
            services.AddKeyedTransient<IAnalysisPlatform, OpenAiPlatform>(PlatformNames.OpenAi);
            names.Add(PlatformNames.OpenAi);
        }

        if (options.Claude.Enabled)
        {
            AddRefitClient<IClaudeApi>(services, PlatformNames.Claude, options.Claude, headers => headers.Add("x-api-key", options.Claude.ApiKey));
            services.AddKeyedTransient<IAnalysisPlatform, ClaudePlatform>(PlatformNames.Claude);
            names.Add(PlatformNames.Claude);
        }

        if (options.Gemini.Enabled)
        {
            AddRefitClient<IGeminiApi>(services, PlatformNames.Gemini, options.Gemini, headers => headers.Add("x-goog-api-key", options.Gemini.ApiKey));
            services.AddKeyedTransient<IAnalysisPlatform, GeminiPlatform>(PlatformNames.Gemini);
            names.Add(PlatformNames.Gemini);
        }

        if (options.Perplexity.Enabled)
        {
            AddRefitClient<IPerplexityApi>(services, PlatformNames.Perplexity, options.Perplexity,
                headers => headers.Authorization = new AuthenticationHeaderValue("Bearer", options.Perplexity.ApiKey));
            services.AddKeyedTransient<IAnalysisPlatform, PerplexityPlatform>(PlatformNames.Perplexity);
            names.Add(PlatformNames.Perplexity);
        }

        if (options.Simulated.Enabled)
        {
            var simulatedNames = new List<string> { PlatformNames.Simulated };
            if (options.Simulated.StandInForDisabled)
                simulatedNames.AddRange(PlatformNames.Real.Where(name => !names.Contains(name)));
            foreach (var name in simulatedNames)
            {
                services.AddKeyedSingleton<IAnalysisPlatform>(name, (provider, _) =>
                    new SimulatedPlatform(name, options.Simulated, provider.GetRequiredService<PriceTable>(), provider.GetRequiredService<TimeProvider>()));
            }

            names.AddRange(simulatedNames);
        }

        var ordered = PlatformNames.All.Where(names.Contains).ToList();
        services.AddSingleton<IAnalysisPlatformCatalog>(provider => new AnalysisPlatformCatalog(provider, ordered));
        return services;
    }

    private static void AddRefitClient<TApi>(IServiceCollection services, string platform, RealPlatformOptions options, Action<HttpRequestHeaders> authenticate)
        where TApi : class
    {
        services.AddRefitGeneratedClient<TApi>(RefitSettings)
            .ConfigureHttpClient(client =>
            {
                client.BaseAddress = options.BaseUri;

                // The resilience timeout below bounds each request; HttpClient's own 100 s default must not cut in first.
                client.Timeout = Timeout.InfiniteTimeSpan;
                authenticate(client.DefaultRequestHeaders);
            })
            .AddResilienceHandler($"sagas-platform-{platform}", pipeline => pipeline.AddTimeout(options.Timeout));
    }
}
