using System.ComponentModel.DataAnnotations;

namespace Sagas.ScanSessions.Api;

/// <summary>Limits of the scan session routes (section <c>Api:ScanSessions</c>); file sizes and code counts come from <c>ScanSessions:Files</c>.</summary>
public sealed class ScanSessionApiOptions
{
    public const string SectionName = "Api:ScanSessions";

    /// <summary>Files one multipart request may carry; more belong in a ZIP.</summary>
    [Range(1, 100_000)]
    public int MaxFilesPerUpload { get; set; } = 1_000;
}
