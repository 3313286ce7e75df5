using System.Text;

namespace Sagas.ScanSessions.Fetching;

/// <summary>Where one file of a scan session comes from.</summary>
public abstract record ScanFileReference;

/// <summary>A file the user uploaded (or one entry of an uploaded ZIP) already kept in the blob store.</summary>
public sealed record UploadedBlobReference(string Key, string? FileName = null) : ScanFileReference;

/// <summary>A Google Drive file read with the user's OAuth access token, which never appears in logs or ToString.</summary>
public sealed record DriveFileReference(string FileId, string AccessToken) : ScanFileReference
{
    protected override bool PrintMembers(StringBuilder builder)
    {
        builder.Append("FileId = ").Append(FileId).Append(", AccessToken = ***");
        return true;
    }
}

/// <summary>A plain http(s) URL from a manifest.</summary>
public sealed record UrlReference(Uri Address) : ScanFileReference;

/// <summary>An object in an S3 bucket, typically found by <see cref="S3PrefixLister"/>.</summary>
public sealed record S3ObjectReference(string Bucket, string Key) : ScanFileReference
{
    public override string ToString() => $"s3://{Bucket}/{Key}";
}
