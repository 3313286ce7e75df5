using Microsoft.Extensions.DependencyInjection;

namespace Sagas.Modules.Assistant;

public static class AssistantToolRegistration
{
    /// <summary>Offers one more read-only tool to the assistant; a workflow calls it from <see cref="IWorkflowModule.AddApi"/>.</summary>
    public static IServiceCollection AddAssistantTool<TTool>(this IServiceCollection services)
        where TTool : class, IAssistantTool
    {
        services.AddScoped<IAssistantTool, TTool>();
        return services;
    }

    /// <summary>One more kind of failure for the <c>recent_failures</c> tool.</summary>
    public static IServiceCollection AddRecentFailureSource<TSource>(this IServiceCollection services)
        where TSource : class, IRecentFailureSource
    {
        services.AddScoped<IRecentFailureSource, TSource>();
        return services;
    }
}
