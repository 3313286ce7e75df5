using System.Text.Json;

namespace Sagas.ScanSessions.Ocr;

/// <summary>The stored form of a file's OCR matches: <c>[{"code":"HOLE-12","confidence":0.91}]</c>.</summary>
public static class OcrMatchJson
{
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);

    public static string Write(IReadOnlyList<OcrCodeMatch> matches) => JsonSerializer.Serialize(matches, Options);

    public static IReadOnlyList<OcrCodeMatch> Read(string? json) =>
        string.IsNullOrEmpty(json) ? [] : JsonSerializer.Deserialize<OcrCodeMatch[]>(json, Options) ?? [];
}
