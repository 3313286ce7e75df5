namespace Sagas.ScanSessions.Files;

/// <summary>Why a file produced no text. The message is shown to users (report, results API) as it is.</summary>
public enum FileErrorKind
{
    /// <summary>Zero bytes.</summary>
    Empty,

    /// <summary>Over a configured size, entry, ratio or row limit.</summary>
    TooLarge,

    /// <summary>A format the scanner does not read (images, legacy Office, nested archives, binaries).</summary>
    Unsupported,

    /// <summary>Password-protected or encrypted (PDF security handler, encrypted Office package, encrypted ZIP entry).</summary>
    Encrypted,

    /// <summary>Claims a format it does not follow, or the reader failed on it.</summary>
    Corrupt,

    /// <summary>A ZIP entry whose path would leave the archive's folder; never extracted.</summary>
    UnsafePath,

    /// <summary>The file could not be fetched (raised by fetchers, not by the readers here).</summary>
    Unavailable,
}

public sealed record FileError(FileErrorKind Kind, string Message)
{
    public override string ToString() => Message;
}
