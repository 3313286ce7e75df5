namespace Sagas.Core.Configuration;

public static class ConfiguredName
{
    /// <summary>
    /// Reads an enum-valued setting by name only (case-insensitive). <see cref="Enum.TryParse{TEnum}(string?, bool, out TEnum)"/>
    /// would also accept numbers and flag combinations, which are never what an operator meant.
    /// </summary>
    public static TEnum Parse<TEnum>(string? value, string settingPath)
        where TEnum : struct, Enum =>
        TryParse(typeof(TEnum), value, out var parsed) ? (TEnum)parsed : throw new SagasConfigurationException(Unknown(typeof(TEnum), value, settingPath));

    public static bool TryParse<TEnum>(string? value, out TEnum parsed)
        where TEnum : struct, Enum
    {
        var known = TryParse(typeof(TEnum), value, out var candidate);
        parsed = known ? (TEnum)candidate : default;
        return known;
    }

    public static bool TryParse(Type enumType, string? value, out object parsed)
    {
        foreach (var candidate in Enum.GetValues(enumType))
        {
            if (string.Equals(candidate.ToString(), value?.Trim(), StringComparison.OrdinalIgnoreCase))
            {
                parsed = candidate;
                return true;
            }
        }

        parsed = 0;
        return false;
    }

    public static string Unknown(Type enumType, string? value, string settingPath) =>
        $"{settingPath} is '{value}', which this build does not know. Allowed values: {string.Join(", ", Enum.GetNames(enumType))}.";
}
