namespace Sagas.ScanSessions.Matching;

/// <summary>The per-file status strings, exactly as the WebSocket messages and the report show them.</summary>
public static class ScanStatus
{
    public const string NoCode = "No Code";
    public const string OneCode = "1 Code";
    public const string Error = "Error";

    public static string ForMatchCount(int distinctCodes) => distinctCodes switch
    {
        < 0 => throw new ArgumentOutOfRangeException(nameof(distinctCodes), distinctCodes, "A match count cannot be negative."),
        0 => NoCode,
        1 => OneCode,
        _ => $"{distinctCodes.ToString(System.Globalization.CultureInfo.InvariantCulture)} Codes",
    };
}
