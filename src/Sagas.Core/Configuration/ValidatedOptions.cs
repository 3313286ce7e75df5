using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Sagas.Core.Configuration;

/// <summary>
/// The one way a settings section becomes an options object: bound from configuration, checked by
/// <see cref="OptionsValidation"/>, and refused with one sentence per problem naming its key (exit code 78 through
/// <c>SagasHost</c>).
/// </summary>
public static class ValidatedOptions
{
    /// <summary>
    /// Registers <typeparamref name="T"/> bound from <paramref name="sectionPath"/>, validated when the host starts
    /// (<see cref="OptionsBuilderExtensions.ValidateOnStart{TOptions}"/>) or when first resolved, and resolvable as
    /// <typeparamref name="T"/> itself, which is how every class takes its options. A second call for the same type
    /// changes nothing.
    /// </summary>
    /// <param name="complete">Fills in what the rules need from code rather than configuration (runs after binding).</param>
    public static OptionsBuilder<T> AddValidatedOptions<T>(this IServiceCollection services, IConfiguration configuration, string sectionPath, Action<T>? complete = null)
        where T : class, new()
    {
        var builder = services.AddOptions<T>();
        if (services.Any(descriptor => descriptor.ServiceType == typeof(IValidateOptions<T>) && !descriptor.IsKeyedService && descriptor.ImplementationInstance is SectionValidator<T>))
            return builder;

        builder.Configure(options =>
        {
            // Thrown as a validation failure so that start-up reports it like every other bad value.
            if (OptionsValidation.Bind(configuration, sectionPath, options) is { } failure)
                throw new OptionsValidationException(Options.DefaultName, typeof(T), [failure]);
            complete?.Invoke(options);
        });
        services.AddSingleton<IValidateOptions<T>>(new SectionValidator<T>(sectionPath));
        services.TryAddSingleton(provider => provider.GetRequiredService<IOptions<T>>().Value);
        return builder.ValidateOnStart();
    }

    /// <summary>
    /// Binds and validates <paramref name="sectionPath"/> now, with the rules and messages of
    /// <see cref="AddValidatedOptions{T}"/>, for a value needed while services are being registered (which transport,
    /// which providers). Throws <see cref="SagasConfigurationException"/>.
    /// </summary>
    public static T ReadValidatedOptions<T>(this IConfiguration configuration, string sectionPath, Action<T>? complete = null)
        where T : class, new()
    {
        var options = new T();
        if (OptionsValidation.Bind(configuration, sectionPath, options) is { } failure)
            throw new SagasConfigurationException(failure);
        complete?.Invoke(options);
        OptionsValidation.ThrowIfInvalid(options, sectionPath);
        return options;
    }

    private sealed class SectionValidator<T>(string sectionPath) : IValidateOptions<T>
        where T : class
    {
        public ValidateOptionsResult Validate(string? name, T options)
        {
            if (name != Options.DefaultName)
                return ValidateOptionsResult.Skip;
            var problems = OptionsValidation.Validate(options, sectionPath);
            return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
        }
    }
}
