using System.Globalization;
using Microsoft.Extensions.Configuration;
using Sagas.Core.Configuration;
using Sagas.ScanSessions.Matching;

namespace Sagas.ScanSessions.Files;

/// <summary>
/// Limits for everything a scan session reads from users: files, archives, manifests and code lists.
/// Section <c>ScanSessions:Files</c>; every value must be positive (see docs/scan-files.md).
/// </summary>
public sealed class ScanFilesOptions
{
    public const string SectionName = "ScanSessions:Files";

    /// <summary>Largest single file (or archive entry, or decoded <c>file_content</c> file) that is scanned.</summary>
    public long MaxFileBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>Extracted text kept per file; the rest is ignored and the result marked truncated.</summary>
    public int MaxTextCharacters { get; set; } = 8 * 1024 * 1024;

    /// <summary>PDF pages read per file; later pages are ignored and the result marked truncated.</summary>
    public int MaxPdfPages { get; set; } = 2_000;

    /// <summary>Largest uncompressed XML part read from a .docx/.xlsx (document, header, sheet, shared strings).</summary>
    public long MaxOfficePartBytes { get; set; } = 128L * 1024 * 1024;

    /// <summary>Largest uploaded ZIP, manifest or decoded <c>file_content</c>.</summary>
    public long MaxUploadBytes { get; set; } = 512L * 1024 * 1024;

    /// <summary>Entries (files, directories included) an uploaded ZIP may have.</summary>
    public int MaxArchiveEntries { get; set; } = 20_000;

    /// <summary>Sum of the declared uncompressed sizes of the files in an uploaded ZIP.</summary>
    public long MaxArchiveUncompressedBytes { get; set; } = 4L * 1024 * 1024 * 1024;

    /// <summary>
    /// Uncompressed:compressed ratio above which a ZIP entry (or Office part) is treated as a zip bomb. Only applied
    /// to entries larger than <see cref="CompressionRatioFloorBytes"/>: tiny highly compressible files are normal.
    /// </summary>
    public int MaxCompressionRatio { get; set; } = 200;

    /// <summary>Entries smaller than this are never refused for their compression ratio.</summary>
    public long CompressionRatioFloorBytes { get; set; } = 1024 * 1024;

    /// <summary>Data rows a manifest may have (the header row excluded).</summary>
    public int MaxManifestRows { get; set; } = 20_000;

    /// <summary>Distinct target hole codes per session.</summary>
    public int MaxHoleCodes { get; set; } = HoleCodeLimits.Default.MaxCodes;

    /// <summary>Characters per hole code.</summary>
    public int MaxHoleCodeLength { get; set; } = HoleCodeLimits.Default.MaxCodeLength;

    public HoleCodeLimits HoleCodeLimits => new(MaxHoleCodes, MaxHoleCodeLength);

    public static ScanFilesOptions Read(IConfiguration configuration)
    {
        var options = new ScanFilesOptions();
        configuration.GetSection(SectionName).Bind(options);
        options.Validate();
        return options;
    }

    /// <summary>Throws <see cref="SagasConfigurationException"/> naming every setting that cannot work.</summary>
    public void Validate()
    {
        var problems = new List<string>();
        RequirePositive(problems, nameof(MaxFileBytes), MaxFileBytes);
        RequirePositive(problems, nameof(MaxTextCharacters), MaxTextCharacters);
        RequirePositive(problems, nameof(MaxPdfPages), MaxPdfPages);
        RequirePositive(problems, nameof(MaxOfficePartBytes), MaxOfficePartBytes);
        RequirePositive(problems, nameof(MaxUploadBytes), MaxUploadBytes);
        RequirePositive(problems, nameof(MaxArchiveEntries), MaxArchiveEntries);
        RequirePositive(problems, nameof(MaxArchiveUncompressedBytes), MaxArchiveUncompressedBytes);
        RequirePositive(problems, nameof(MaxCompressionRatio), MaxCompressionRatio);
        RequirePositive(problems, nameof(CompressionRatioFloorBytes), CompressionRatioFloorBytes);
        RequirePositive(problems, nameof(MaxManifestRows), MaxManifestRows);
        RequirePositive(problems, nameof(MaxHoleCodes), MaxHoleCodes);
        RequirePositive(problems, nameof(MaxHoleCodeLength), MaxHoleCodeLength);

        // .NET strings and arrays stop at 2^31 elements; a larger text limit would fail at the first big file, not here.
        if (MaxTextCharacters > 1_000_000_000)
            problems.Add($"{SectionName}:{nameof(MaxTextCharacters)} is {MaxTextCharacters.ToString(CultureInfo.InvariantCulture)}; at most 1000000000 is supported.");
        if (MaxFileBytes > Array.MaxLength)
            problems.Add($"{SectionName}:{nameof(MaxFileBytes)} is above {Array.MaxLength.ToString(CultureInfo.InvariantCulture)}: a file is read into memory.");
        if (MaxUploadBytes > Array.MaxLength)
            problems.Add($"{SectionName}:{nameof(MaxUploadBytes)} is above {Array.MaxLength.ToString(CultureInfo.InvariantCulture)}: file_content is decoded in memory.");

        if (problems.Count > 0)
            throw new SagasConfigurationException(string.Join(" ", problems));
    }

    private static void RequirePositive(List<string> problems, string name, long value)
    {
        if (value <= 0)
            problems.Add($"{SectionName}:{name} is {value.ToString(CultureInfo.InvariantCulture)}; it must be a positive number.");
    }
}
