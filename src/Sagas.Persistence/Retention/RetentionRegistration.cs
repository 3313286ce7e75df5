using Microsoft.Extensions.DependencyInjection;

namespace Sagas.Persistence.Retention;

public static class RetentionRegistration
{
    /// <summary>
    /// Declares a kind of data to delete after <paramref name="defaultDays"/> days (operators change it under
    /// <c>Retention:Rules:{name}</c>). Declare it in every process, like a recurring schedule: only the process that
    /// runs the retention schedule acts on it, so the rule's own services must be registered wherever it is declared.
    /// </summary>
    /// <param name="name">kebab-case, unique: the configuration key and the metric's <c>rule</c> tag.</param>
    /// <param name="description">One line for operators: what is deleted and what is kept.</param>
    public static IServiceCollection AddRetentionRule<TRule>(this IServiceCollection services, string name, int defaultDays, string description)
        where TRule : class, IRetentionRule
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentOutOfRangeException.ThrowIfLessThan(defaultDays, 1);
        if (services.Any(d => d.ImplementationInstance is RetentionRuleDeclaration declared && declared.Name == name))
            return services;

        services.AddSingleton(new RetentionRuleDeclaration(name, defaultDays, description, typeof(TRule)));
        services.AddScoped<TRule>();
        return services;
    }
}
