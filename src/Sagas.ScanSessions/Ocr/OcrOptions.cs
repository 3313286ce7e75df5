using System.ComponentModel.DataAnnotations;
using Sagas.Core.Configuration;

namespace Sagas.ScanSessions.Ocr;

/// <summary>
/// When and how scanned pages and image files are read with OCR. Section <c>ScanSessions:Ocr</c>
/// (docs/scan-sessions.md, "OCR").
/// </summary>
public sealed class OcrOptions
{
    public const string SectionName = "ScanSessions:Ocr";

    /// <summary>Off: image files and image-only PDF pages are recorded with an "OCR is disabled" error, never as No Code.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>The Tesseract executable (a name looked up on PATH, or a full path).</summary>
    [Required]
    public string TesseractPath { get; set; } = "tesseract";

    /// <summary>Poppler's <c>pdftoppm</c>, which renders PDF pages to images for Tesseract.</summary>
    [Required]
    public string PdftoppmPath { get; set; } = "pdftoppm";

    /// <summary>Tesseract language data (<c>-l</c>), e.g. <c>eng</c> or <c>eng+deu</c>; each needs its Debian package.</summary>
    [Required]
    public string Language { get; set; } = "eng";

    /// <summary>Tesseract's page segmentation mode (<c>--psm</c>): 11 (sparse text) suits drawings whose labels are scattered.</summary>
    [Range(0, 13)]
    public int PageSegmentationMode { get; set; } = 11;

    /// <summary>Resolution PDF pages are rendered at. Lowered per page when the page would exceed <see cref="MaxImagePixels"/>.</summary>
    [Range(72, 600)]
    public int Dpi { get; set; } = 300;

    /// <summary>Wall-clock limit of one child process per page (rendering and recognition each); the child is killed after it.</summary>
    [Positive]
    public TimeSpan PageTimeout { get; set; } = TimeSpan.FromSeconds(90);

    /// <summary>Pages (PDF pages needing OCR, or TIFF frames) OCR'd per file; a file needing more is an error naming this limit.</summary>
    [Positive]
    public int MaxPages { get; set; } = 50;

    /// <summary>Pixels (width × height) of one image or rendered page; bounds the memory a decoder may use.</summary>
    [Positive]
    public long MaxImagePixels { get; set; } = 100_000_000;

    /// <summary>
    /// A PDF page whose text layer has fewer non-blank characters than this is OCR'd when it has no text at all or
    /// carries an image (a scan with a thin stamped header, say). Pages at or above it are never OCR'd.
    /// </summary>
    [Range(0, 100_000)]
    public int MinPageTextCharacters { get; set; } = 32;

    /// <summary>
    /// Address space one OCR child (pdftoppm, Tesseract) may map, in megabytes, set with <c>prlimit --as</c> before it
    /// starts: a page that would need more fails as a per-file error naming this setting instead of pressing the worker's
    /// memory. 0 turns the cap off. Tesseract alone maps about 110 MB (libraries and language data) before reading a page.
    /// </summary>
    [Range(0, 1_048_576)]
    public int MaxChildMemoryMegabytes { get; set; } = 2048;

    /// <summary>util-linux's <c>prlimit</c>, which applies <see cref="MaxChildMemoryMegabytes"/> to each child.</summary>
    [Required]
    public string PrlimitPath { get; set; } = "prlimit";

    /// <summary>OCR child processes one worker runs at once, across all its batches: OCR is CPU-heavy.</summary>
    [Range(1, 64)]
    public int Concurrency { get; set; } = 1;
}
