using System.ComponentModel;
using System.Globalization;
using System.Text;

namespace Sagas.ScanSessions.Ocr;

/// <summary>
/// OCR on the worker itself: poppler's <c>pdftoppm</c> renders a PDF page to a grey PNG, Tesseract reads it and
/// reports every word with its confidence (TSV output). Each page is two bounded child processes (see
/// <see cref="ChildProcess"/>); at most <see cref="OcrOptions.Concurrency"/> of them run at once on this worker.
/// Files go through a private temporary folder that is removed afterwards.
/// </summary>
public sealed class LocalOcrEngine : IOcrEngine, IDisposable
{
    private const int MaxTsvChars = 16 * 1024 * 1024;

    private readonly OcrOptions _options;
    private readonly SemaphoreSlim _slots;
    private readonly Lazy<string?> _unavailable;

    public LocalOcrEngine(OcrOptions options)
    {
        _options = options;
        _slots = new SemaphoreSlim(options.Concurrency, options.Concurrency);
        _unavailable = new Lazy<string?>(FindUnavailable);
    }

    public string? Unavailable => _unavailable.Value;

    public async Task<OcrOutcome> RecognizeImageAsync(ReadOnlyMemory<byte> content, ImageInfo image, CancellationToken cancellationToken)
    {
        var folder = CreateFolder();
        try
        {
            var input = Path.Combine(folder, "image." + image.Kind.ToString().ToLowerInvariant());
            await File.WriteAllBytesAsync(input, content.ToArray(), cancellationToken);

            // A multi-page TIFF is one Tesseract run, so its time limit grows with its frames.
            var timeout = _options.PageTimeout * Math.Max(1, image.Frames);
            return await RecognizeAsync(input, pageOffset: 0, timeout, cancellationToken);
        }
        finally
        {
            DeleteFolder(folder);
        }
    }

    public async Task<OcrOutcome> RecognizePdfPagesAsync(ReadOnlyMemory<byte> content, IReadOnlyList<OcrPdfPage> pages, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(pages);
        var folder = CreateFolder();
        try
        {
            var pdf = Path.Combine(folder, "document.pdf");
            await File.WriteAllBytesAsync(pdf, content.ToArray(), cancellationToken);
            var recognised = new List<OcrPageText>();
            var busy = TimeSpan.Zero;
            foreach (var page in pages)
            {
                var number = page.Number.ToString(CultureInfo.InvariantCulture);
                var prefix = Path.Combine(folder, "page" + number);
                var rendered = await RunAsync(
                    _options.PdftoppmPath,
                    ["-r", Dpi(page).ToString(CultureInfo.InvariantCulture), "-f", number, "-l", number, "-gray", "-png", "-singlefile", pdf, prefix],
                    _options.PageTimeout,
                    cancellationToken);
                var image = prefix + ".png";
                busy += rendered.Elapsed;
                if (rendered.ExitCode != 0 || !File.Exists(image))
                    return OcrOutcome.Failed(OverMemoryCap("pdftoppm", rendered) ?? $"Page {number} of the PDF could not be rendered for OCR: {Tail(rendered.StandardError)}");

                var outcome = await RecognizeAsync(image, page.Number - 1, _options.PageTimeout, cancellationToken);
                File.Delete(image);
                busy += outcome.Busy ?? TimeSpan.Zero;
                if (outcome.Error is not null)
                    return outcome with { Busy = busy };
                recognised.AddRange(outcome.Pages);
            }

            return new OcrOutcome(recognised, null, busy);
        }
        catch (ChildProcessFailedException timeout)
        {
            return OcrOutcome.Failed(timeout.Message);
        }
        finally
        {
            DeleteFolder(folder);
        }
    }

    /// <summary>The configured resolution, lowered so that the rendered page stays within <see cref="OcrOptions.MaxImagePixels"/>.</summary>
    internal int Dpi(OcrPdfPage page)
    {
        var squareInches = Math.Max(page.WidthPoints, 1) / 72.0 * (Math.Max(page.HeightPoints, 1) / 72.0);
        var fitting = (int)Math.Floor(Math.Sqrt(_options.MaxImagePixels / squareInches));
        return Math.Max(1, Math.Min(_options.Dpi, fitting));
    }

    private async Task<OcrOutcome> RecognizeAsync(string image, int pageOffset, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ChildProcessResult result;
        try
        {
            result = await RunAsync(
                _options.TesseractPath,
                [image, "stdout", "-l", _options.Language, "--psm", _options.PageSegmentationMode.ToString(CultureInfo.InvariantCulture), "tsv"],
                timeout,
                cancellationToken);
        }
        catch (ChildProcessFailedException exception)
        {
            return OcrOutcome.Failed(exception.Message);
        }

        if (result.ExitCode != 0)
            return OcrOutcome.Failed(OverMemoryCap("tesseract", result) ?? $"Tesseract could not read the image: {Tail(result.StandardError)}") with { Busy = result.Elapsed };
        return new OcrOutcome(TesseractTsv.Parse(result.StandardOutput, pageOffset), null, result.Elapsed);
    }

    private async Task<ChildProcessResult> RunAsync(string executable, IEnumerable<string> arguments, TimeSpan timeout, CancellationToken cancellationToken)
    {
        await _slots.WaitAsync(cancellationToken);
        try
        {
            return await ChildProcess.RunAsync(executable, arguments, timeout, MaxTsvChars, cancellationToken, MemoryCap);
        }
        catch (Win32Exception exception)
        {
            // Removed after the start-up check: the file's error says so instead of failing the batch.
            throw new ChildProcessFailedException($"OCR is unavailable: {Path.GetFileName(executable)} could not be started ({exception.Message}).");
        }
        finally
        {
            _slots.Release();
        }
    }

    private (string Prlimit, long Bytes)? MemoryCap =>
        _options.MaxChildMemoryMegabytes > 0 ? (_options.PrlimitPath, _options.MaxChildMemoryMegabytes * 1024L * 1024) : null;

    /// <summary>
    /// The file's error when a capped child failed the way running out of address space looks: an allocation
    /// failure in its message, a library it could not map, or death by a signal (an unchecked failed allocation
    /// aborts or faults). Null when no cap is set or the failure looks like something else.
    /// </summary>
    private string? OverMemoryCap(string tool, ChildProcessResult result)
    {
        if (MemoryCap is null)
            return null;
        string[] signs = ["bad_alloc", "cannot allocate", "out of memory", "failed to map segment", "malloc fail", "memory exhausted"];
        var killedBySignal = result.ExitCode > 128;
        if (!killedBySignal && !signs.Any(sign => result.StandardError.Contains(sign, StringComparison.OrdinalIgnoreCase)))
            return null;
        return $"{tool} ran out of memory under the {_options.MaxChildMemoryMegabytes} MB cap on OCR child processes (ScanSessions:Ocr:MaxChildMemoryMegabytes), so this scanned file was not read.";
    }

    private string? FindUnavailable()
    {
        if (!_options.Enabled)
            return "OCR is disabled on this worker (ScanSessions:Ocr:Enabled), so this scanned file was not read.";
        var missing = new List<string>();
        if (Resolve(_options.TesseractPath) is null)
            missing.Add($"'{_options.TesseractPath}' (Debian packages tesseract-ocr and tesseract-ocr-eng)");
        if (Resolve(_options.PdftoppmPath) is null)
            missing.Add($"'{_options.PdftoppmPath}' (Debian package poppler-utils)");
        if (MemoryCap is not null && Resolve(_options.PrlimitPath) is null)
            missing.Add($"'{_options.PrlimitPath}' (Debian package util-linux; it applies ScanSessions:Ocr:MaxChildMemoryMegabytes)");
        return missing.Count == 0
            ? null
            : $"OCR is unavailable on this worker: {string.Join(" and ", missing)} not found, so this scanned file was not read.";
    }

    private static string? Resolve(string executable)
    {
        if (executable.Contains('/', StringComparison.Ordinal))
            return File.Exists(executable) ? executable : null;
        foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, executable);
            if (File.Exists(candidate))
                return candidate;
        }

        return null;
    }

    private static string Tail(string text)
    {
        var line = text.ReplaceLineEndings(" ").Trim();
        if (line.Length > 300)
            line = "…" + line[^300..];
        return line.Length == 0 ? "no message." : line;
    }

    private static string CreateFolder()
    {
        var folder = Path.Combine(Path.GetTempPath(), "sagas-ocr-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        return folder;
    }

    private static void DeleteFolder(string folder)
    {
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (IOException)
        {
            // A killed child may still hold a file for a moment; the temporary folder is cleaned by the OS later.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    public void Dispose() => _slots.Dispose();
}

/// <summary>Tesseract's TSV output: one row per layout element; level 5 rows are words with a confidence 0–100.</summary>
internal static class TesseractTsv
{
    public static IReadOnlyList<OcrPageText> Parse(string tsv, int pageOffset)
    {
        var pages = new SortedDictionary<int, (StringBuilder Text, double Sum, int Words, string LastLine)>();
        foreach (var row in tsv.Split('\n'))
        {
            var columns = row.TrimEnd('\r').Split('\t');
            if (columns.Length < 12 || columns[0] != "5")
                continue;
            if (!int.TryParse(columns[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var page)
                || !double.TryParse(columns[10], NumberStyles.Float, CultureInfo.InvariantCulture, out var confidence))
            {
                continue;
            }

            var word = columns[11].Trim();
            if (word.Length == 0 || confidence < 0)
                continue;

            page += pageOffset;
            if (!pages.TryGetValue(page, out var state))
                state = (new StringBuilder(), 0, 0, "");
            var line = string.Join('.', columns[2], columns[3], columns[4]);
            if (state.Text.Length > 0)
                state.Text.Append(line == state.LastLine ? ' ' : '\n');
            state.Text.Append(word);
            pages[page] = (state.Text, state.Sum + confidence, state.Words + 1, line);
        }

        return [.. pages.Select(p => new OcrPageText(p.Key, p.Value.Text.ToString(), p.Value.Words == 0 ? 0 : p.Value.Sum / p.Value.Words / 100.0))];
    }
}
