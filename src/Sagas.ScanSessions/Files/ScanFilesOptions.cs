using System.ComponentModel.DataAnnotations;
using System.Globalization;
using Sagas.Core.Configuration;
using Sagas.ScanSessions.Matching;

namespace Sagas.ScanSessions.Files;

/// <summary>
/// Limits for everything a scan session reads from users: files, archives, manifests and code lists.
/// Section <c>ScanSessions:Files</c>; every value must be positive (see docs/scan-files.md).
/// </summary>
public sealed class ScanFilesOptions : IValidatableObject
{
    public const string SectionName = "ScanSessions:Files";

    /// <summary>Largest single file (or archive entry, or decoded <c>file_content</c> file) that is scanned.</summary>
    [Positive]
    public long MaxFileBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>Extracted text kept per file; the rest is ignored and the result marked truncated.</summary>
    [Positive]
    public int MaxTextCharacters { get; set; } = 8 * 1024 * 1024;

    /// <summary>PDF pages read per file; later pages are ignored and the result marked truncated.</summary>
    [Positive]
    public int MaxPdfPages { get; set; } = 2_000;

    /// <summary>Largest uncompressed XML part read from a .docx/.xlsx (document, header, sheet, shared strings).</summary>
    [Positive]
    public long MaxOfficePartBytes { get; set; } = 128L * 1024 * 1024;

    /// <summary>Largest uploaded ZIP, manifest or decoded <c>file_content</c>.</summary>
    [Positive]
    public long MaxUploadBytes { get; set; } = 512L * 1024 * 1024;

    /// <summary>Entries (files, directories included) an uploaded ZIP may have.</summary>
    [Positive]
    public int MaxArchiveEntries { get; set; } = 20_000;

    /// <summary>Sum of the declared uncompressed sizes of the files in an uploaded ZIP.</summary>
    [Positive]
    public long MaxArchiveUncompressedBytes { get; set; } = 4L * 1024 * 1024 * 1024;

    /// <summary>
    /// Uncompressed:compressed ratio above which a ZIP entry (or Office part) is treated as a zip bomb. Only applied
    /// to entries larger than <see cref="CompressionRatioFloorBytes"/>: tiny highly compressible files are normal.
    /// </summary>
    [Positive]
    public int MaxCompressionRatio { get; set; } = 200;

    /// <summary>Entries smaller than this are never refused for their compression ratio.</summary>
    [Positive]
    public long CompressionRatioFloorBytes { get; set; } = 1024 * 1024;

    /// <summary>Data rows a manifest may have (the header row excluded).</summary>
    [Positive]
    public int MaxManifestRows { get; set; } = 20_000;

    /// <summary>Distinct target hole codes per session.</summary>
    [Positive]
    public int MaxHoleCodes { get; set; } = HoleCodeLimits.Default.MaxCodes;

    /// <summary>Characters per hole code.</summary>
    [Positive]
    public int MaxHoleCodeLength { get; set; } = HoleCodeLimits.Default.MaxCodeLength;

    public HoleCodeLimits HoleCodeLimits => new(MaxHoleCodes, MaxHoleCodeLength);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        // .NET strings and arrays stop at 2^31 elements; a larger text limit would fail at the first big file, not here.
        if (MaxTextCharacters > 1_000_000_000)
            yield return new ValidationResult($"{validationContext.Key(nameof(MaxTextCharacters))} is {MaxTextCharacters.ToString(CultureInfo.InvariantCulture)}; at most 1000000000 is supported.");
        if (MaxFileBytes > Array.MaxLength)
            yield return new ValidationResult($"{validationContext.Key(nameof(MaxFileBytes))} is above {Array.MaxLength.ToString(CultureInfo.InvariantCulture)}: a file is read into memory.");
        if (MaxUploadBytes > Array.MaxLength)
            yield return new ValidationResult($"{validationContext.Key(nameof(MaxUploadBytes))} is above {Array.MaxLength.ToString(CultureInfo.InvariantCulture)}: file_content is decoded in memory.");
    }
}
