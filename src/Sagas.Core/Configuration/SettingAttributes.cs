using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Globalization;

namespace Sagas.Core.Configuration;

/// <summary>
/// A rule on one setting. Its message is a format: <c>{0}</c> is the full configuration key, <c>{1}</c> the value,
/// further placeholders the rule's bounds; <see cref="ValidationAttribute.ErrorMessage"/> replaces it, with the same
/// placeholders. Never put a rule that shows <c>{1}</c> on a secret.
/// </summary>
public abstract class SettingRuleAttribute : ValidationAttribute
{
    public override bool RequiresValidationContext => true;

    /// <summary>Null and empty text pass every rule but <see cref="RequiredAttribute"/> and those that say otherwise.</summary>
    protected abstract bool Accepts(object value);

    protected abstract string DefaultMessage(object value);

    protected virtual object?[] Bounds => [];

    protected virtual bool AcceptsEmpty => true;

    protected sealed override ValidationResult? IsValid(object? value, ValidationContext validationContext)
    {
        if (value is null || value is string { Length: 0 })
        {
            if (AcceptsEmpty)
                return ValidationResult.Success;
        }
        else if (Accepts(value))
        {
            return ValidationResult.Success;
        }

        object?[] arguments = [validationContext.DisplayName, OptionsValidation.Show(value), .. Bounds];
        var message = string.Format(CultureInfo.InvariantCulture, ErrorMessage ?? DefaultMessage(value ?? ""), arguments);
        return new ValidationResult(message, validationContext.MemberName is { } member ? [member] : null);
    }

    private protected static int Sign(object value) => value switch
    {
        TimeSpan span => span.CompareTo(TimeSpan.Zero),
        int number => number.CompareTo(0),
        long number => number.CompareTo(0L),
        double number => double.IsNaN(number) ? -1 : number.CompareTo(0d),
        decimal number => number.CompareTo(0m),
        _ => throw new InvalidOperationException($"{value.GetType().Name} has no sign; this rule applies to numbers and durations."),
    };
}

/// <summary>A number above zero, or a duration longer than zero.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class PositiveAttribute : SettingRuleAttribute
{
    protected override bool Accepts(object value) => Sign(value) > 0;

    protected override string DefaultMessage(object value) =>
        value is TimeSpan ? "{0} is {1}; it must be longer than zero." : "{0} is {1}; it must be a positive number.";
}

/// <summary>Zero or more.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class NotNegativeAttribute : SettingRuleAttribute
{
    protected override bool Accepts(object value) => Sign(value) >= 0;

    protected override string DefaultMessage(object value) => "{0} is {1}; it must not be negative.";
}

/// <summary>
/// A lower bound without an upper one, written as <see cref="RangeAttribute"/> writes its bounds (a duration as
/// <c>00:00:01</c>).
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class AtLeastAttribute(Type type, string minimum) : SettingRuleAttribute
{
    private readonly IComparable _minimum = (IComparable)(TypeDescriptor.GetConverter(type).ConvertFromInvariantString(minimum)
        ?? throw new ArgumentException($"'{minimum}' is not a {type.Name}.", nameof(minimum)));

    protected override object?[] Bounds => [minimum];

    protected override bool Accepts(object value) => _minimum.CompareTo(value) <= 0;

    protected override string DefaultMessage(object value) => "{0} is {1}; it must be at least {2}.";
}

/// <summary>An absolute http or https URL.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class HttpUrlAttribute : SettingRuleAttribute
{
    /// <summary>Leaving the setting empty is allowed (the feature it configures then does without).</summary>
    public bool Optional { get; set; }

    /// <summary>Whether a query or a fragment may follow the path; not where the URL is a base others are appended to.</summary>
    public bool AllowQuery { get; set; } = true;

    protected override bool AcceptsEmpty => Optional;

    protected override bool Accepts(object value) =>
        value is string text
        && (Optional && string.IsNullOrWhiteSpace(text)
            || Uri.TryCreate(text, UriKind.Absolute, out var uri)
            && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
            && (AllowQuery || string.IsNullOrEmpty(uri.Query) && string.IsNullOrEmpty(uri.Fragment)));

    protected override string DefaultMessage(object value) => "{0} is '{1}', which is not an absolute http(s) URL.";
}

/// <summary>One of the names of <paramref name="enumType"/>, case-insensitive; read with <see cref="ConfiguredName.Parse{TEnum}"/>.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class EnumNameAttribute(Type enumType) : SettingRuleAttribute
{
    protected override bool AcceptsEmpty => false;

    protected override bool Accepts(object value) => ConfiguredName.TryParse(enumType, value as string, out _);

    protected override string DefaultMessage(object value) => ConfiguredName.Unknown(enumType, "{1}", "{0}");
}

/// <summary>
/// Validates a nested section only while <paramref name="condition"/>, a <see cref="bool"/> property of the declaring
/// class, is true: the settings of a provider that is not chosen may stay incomplete.
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class ValidatedOnlyWhenAttribute(string condition) : Attribute
{
    public string Condition { get; } = condition;
}

/// <summary>
/// An entry of a settings list that operators know by a name: problems show it beside the index
/// (<c>Notifications:Webhooks:0 ('crm'):Url</c>), since the index alone is hard to match to an environment variable.
/// </summary>
public interface ILabelledSetting
{
    string? Label { get; }
}

public static class SettingValidationContextExtensions
{
    /// <summary>
    /// The full key of <paramref name="member"/> of the object being validated, for messages of
    /// <see cref="IValidatableObject"/> rules: <see cref="OptionsValidation"/> puts the object's own key in
    /// <see cref="ValidationContext.DisplayName"/>.
    /// </summary>
    public static string Key(this ValidationContext context, string member) => $"{context.DisplayName}:{member}";
}
