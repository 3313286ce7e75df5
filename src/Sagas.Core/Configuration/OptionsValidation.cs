using System.Collections;
using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;

namespace Sagas.Core.Configuration;

/// <summary>
/// The rules of a settings section, checked the same way whether the section is read while services are registered
/// or validated by the options pipeline at start: DataAnnotations on every bindable property, nested sections and
/// the entries of lists and dictionaries, then <see cref="IValidatableObject"/>. Every problem is one sentence naming
/// its full configuration key.
/// </summary>
public static partial class OptionsValidation
{
    /// <summary>Every problem of <paramref name="options"/>, bound from the section at <paramref name="key"/>; empty when it can work.</summary>
    public static IReadOnlyList<string> Validate(object options, string key)
    {
        var problems = new List<string>();
        Walk(options, key, problems, new HashSet<object>(ReferenceEqualityComparer.Instance));
        return problems;
    }

    /// <summary>Throws <see cref="SagasConfigurationException"/> listing every problem, so that one restart fixes them all.</summary>
    public static void ThrowIfInvalid(object options, string key)
    {
        var problems = Validate(options, key);
        if (problems.Count > 0)
            throw new SagasConfigurationException(string.Join(" ", problems));
    }

    /// <summary>The key of entry <paramref name="index"/> of a list, as problems name it (see <see cref="ILabelledSetting"/>).</summary>
    public static string ItemKey(string listKey, int index, object? item) =>
        item is ILabelledSetting { Label: { } label } && !string.IsNullOrWhiteSpace(label)
            ? $"{listKey}:{index} ('{label}')"
            : $"{listKey}:{index}";

    /// <summary>A value as a message shows it: invariant numbers, durations as configured (<c>00:00:30</c>).</summary>
    internal static string Show(object? value) => value switch
    {
        null => "",
        TimeSpan span => span.ToString(),
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    /// <summary>
    /// Binds the section at <paramref name="key"/> onto <paramref name="target"/>; a value that does not convert comes
    /// back as one sentence naming its key instead of the binder's exception.
    /// </summary>
    internal static string? Bind(IConfiguration configuration, string key, object target)
    {
        try
        {
            configuration.GetSection(key).Bind(target);
            return null;
        }
        catch (InvalidOperationException exception)
        {
            return Unreadable(configuration, key, exception);
        }
    }

    private static void Walk(object options, string key, List<string> problems, HashSet<object> visited)
    {
        if (!visited.Add(options))
            return;

        foreach (var property in options.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            // Only what the binder can set is configuration; computed properties may not even be safe to read.
            if (property.GetIndexParameters().Length > 0 || property.GetMethod is not { IsPublic: true } || property.SetMethod is not { IsPublic: true })
                continue;
            if (property.GetCustomAttribute<ValidatedOnlyWhenAttribute>() is { } only && !Holds(options, only.Condition))
                continue;

            var value = property.GetValue(options);
            var propertyKey = $"{key}:{property.Name}";
            if (CheckAttributes(options, property, value, propertyKey, problems))
                Descend(value, propertyKey, problems, visited);
        }

        if (options is IValidatableObject validatable)
        {
            foreach (var result in validatable.Validate(new ValidationContext(options) { DisplayName = key }))
            {
                if (result != ValidationResult.Success && result.ErrorMessage is { } message)
                    problems.Add(message);
            }
        }
    }

    /// <returns>False when the value is missing altogether, so that nothing below it is checked.</returns>
    private static bool CheckAttributes(object owner, PropertyInfo property, object? value, string key, List<string> problems)
    {
        var context = new ValidationContext(owner) { MemberName = property.Name, DisplayName = key };
        var attributes = Attribute.GetCustomAttributes(property, typeof(ValidationAttribute), inherit: true)
            .Cast<ValidationAttribute>()
            .OrderBy(attribute => attribute is RequiredAttribute ? 0 : 1);
        foreach (var attribute in attributes)
        {
            if (attribute.GetValidationResult(value, context) is not { } failure)
                continue;
            problems.Add(Sentence(attribute, key, value, failure));
            if (attribute is RequiredAttribute)
                return false;
        }

        return true;
    }

    // .NET's own wording ("The field X must be between ...") names the property, not the key, and never the value.
    private static string Sentence(ValidationAttribute attribute, string key, object? value, ValidationResult failure) => attribute switch
    {
        _ when attribute.ErrorMessage is not null || attribute.ErrorMessageResourceType is not null => failure.ErrorMessage ?? key,
        RangeAttribute range => $"{key} is {Show(value)}; it must be {Bounds(range)}.",
        RequiredAttribute => $"{key} is empty.",
        _ => failure.ErrorMessage ?? key,
    };

    private static string Bounds(RangeAttribute range) => (range.MinimumIsExclusive, range.MaximumIsExclusive) switch
    {
        (false, false) => $"between {Show(range.Minimum)} and {Show(range.Maximum)}",
        (true, false) => $"above {Show(range.Minimum)} and at most {Show(range.Maximum)}",
        (false, true) => $"at least {Show(range.Minimum)} and below {Show(range.Maximum)}",
        (true, true) => $"above {Show(range.Minimum)} and below {Show(range.Maximum)}",
    };

    private static void Descend(object? value, string key, List<string> problems, HashSet<object> visited)
    {
        switch (value)
        {
            case null:
                return;
            case IDictionary dictionary:
                foreach (DictionaryEntry entry in dictionary)
                {
                    if (IsSection(entry.Value))
                        Walk(entry.Value!, $"{key}:{Show(entry.Key)}", problems, visited);
                }

                return;
            case IEnumerable items when value is not string:
                var index = 0;
                foreach (var item in items)
                {
                    if (IsSection(item))
                        Walk(item!, ItemKey(key, index, item), problems, visited);
                    index++;
                }

                return;
            default:
                if (IsSection(value))
                    Walk(value, key, problems, visited);
                return;
        }
    }

    private static bool IsSection(object? value) => value is not null && !value.GetType().IsValueType && value is not string and not Uri and not Delegate;

    private static bool Holds(object owner, string condition) =>
        owner.GetType().GetProperty(condition, BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance)?.GetValue(owner) is bool holds
            ? holds
            : throw new InvalidOperationException($"{owner.GetType().Name}.{condition} is not a bool property; [ValidatedOnlyWhen] needs one.");

    private static string Unreadable(IConfiguration configuration, string sectionKey, InvalidOperationException exception)
    {
        if (BinderFailure().Match(exception.Message) is not { Success: true } match)
            return $"{sectionKey} cannot be read: {exception.Message}";

        var key = match.Groups["key"].Value;
        return $"{key} is '{configuration[key]}', which is not {Expected(match.Groups["type"].Value)}.";
    }

    private static string Expected(string typeName) => typeName switch
    {
        _ when typeName.Contains("System.TimeSpan", StringComparison.Ordinal) => "a duration such as 00:00:30",
        _ when typeName.Contains("System.Boolean", StringComparison.Ordinal) => "true or false",
        _ when typeName.Contains("System.Int", StringComparison.Ordinal) || typeName.Contains("System.UInt", StringComparison.Ordinal)
            || typeName.Contains("System.Byte", StringComparison.Ordinal) => "a whole number",
        _ when typeName.Contains("System.Double", StringComparison.Ordinal) || typeName.Contains("System.Single", StringComparison.Ordinal)
            || typeName.Contains("System.Decimal", StringComparison.Ordinal) => "a number",
        _ => $"a valid {typeName}",
    };

    [GeneratedRegex("at '(?<key>[^']+)' to type '(?<type>[^']+)'")]
    private static partial Regex BinderFailure();
}
