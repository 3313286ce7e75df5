namespace Sagas.Core.Configuration;

public static class ConfiguredName
{
    /// <summary>
    /// Reads an enum-valued setting by name only (case-insensitive). <see cref="Enum.TryParse{TEnum}(string?, bool, out TEnum)"/>
    /// would also accept numbers and flag combinations, which are never what an operator meant.
    /// </summary>
    public static TEnum Parse<TEnum>(string? value, string settingPath)
        where TEnum : struct, Enum
    {
        foreach (var candidate in Enum.GetValues<TEnum>())
        {
            if (string.Equals(candidate.ToString(), value?.Trim(), StringComparison.OrdinalIgnoreCase))
                return candidate;
        }

        throw new SagasConfigurationException(
            $"{settingPath} is '{value}', which this build does not know. Allowed values: {string.Join(", ", Enum.GetNames<TEnum>())}.");
    }
}
