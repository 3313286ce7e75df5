namespace Sagas.ScanSessions.Sources;

/// <summary>Values of <see cref="Contracts.ScanSessions.ScanFile.Kind"/>.</summary>
public static class ScanFileKinds
{
    public const string Upload = "upload";
    public const string Drive = "drive";
    public const string Url = "url";
    public const string S3 = "s3";
}
