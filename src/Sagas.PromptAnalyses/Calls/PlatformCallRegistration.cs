using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Sagas.PromptAnalyses.Platforms;

namespace Sagas.PromptAnalyses.Calls;

public static class PlatformCallRegistration
{
    /// <summary>The platforms plus <see cref="IPlatformCaller"/>, the only way the workflow asks them.</summary>
    public static IServiceCollection AddPlatformCalls(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddAnalysisPlatforms(configuration);
        services.TryAddSingleton<IPlatformCaller, PlatformCaller>();
        return services;
    }
}
