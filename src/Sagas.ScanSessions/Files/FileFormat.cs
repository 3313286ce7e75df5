namespace Sagas.ScanSessions.Files;

/// <summary>What the content turned out to be (by its bytes first, its name second).</summary>
public enum FileFormat
{
    Unknown,
    Pdf,
    PlainText,
    Docx,
    Xlsx,
    Zip,
    LegacyOffice,
    EncryptedOffice,
    OtherBinary,

    /// <summary>PNG, JPEG or TIFF: read with OCR.</summary>
    Image,
}
