namespace Sagas.ScanSessions.Matching;

/// <summary>Distinct target codes found in one text, in the order of the session's target list, spelled as the user gave them.</summary>
public sealed record HoleCodeMatch(IReadOnlyList<string> Codes)
{
    public static HoleCodeMatch None { get; } = new(Array.Empty<string>());

    public string Status => ScanStatus.ForMatchCount(Codes.Count);
}
