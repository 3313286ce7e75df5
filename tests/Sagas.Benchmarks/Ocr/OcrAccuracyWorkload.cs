using System.Diagnostics;
using System.Globalization;
using Sagas.Components.Tests.ScanSessions;
using Sagas.ScanSessions.Files;
using Sagas.ScanSessions.Matching;
using Sagas.ScanSessions.Ocr;

namespace Sagas.Benchmarks.Ocr;

/// <summary>
/// OCR accuracy on generated scans: A4 pages of borehole-log text with target codes and near misses, rendered at each
/// resolution with noise, a slight turn and JPEG artefacts, wrapped into image-only PDFs (one file per page), then
/// scanned as a worker scans them. Precision and recall are over (code, file) pairs against the codes typeset.
/// </summary>
internal sealed class OcrAccuracyWorkload : IWorkload
{
    public string Name => "ocr-accuracy";

    public string Description => "OCR precision/recall and seconds per page on generated scans (--pages N per resolution, --dpi 300,150)";

    public async Task<int> RunAsync(string[] args)
    {
        var pages = BenchmarkArguments.Int(args, "--pages", 30);
        var dpis = (args.SkipWhile(a => a != "--dpi").Skip(1).FirstOrDefault() ?? "300,150")
            .Split(',').Select(d => int.Parse(d, CultureInfo.InvariantCulture)).ToArray();
        var targets = Targets();
        var options = new OcrOptions { Concurrency = 2 };
        var engine = new LocalOcrEngine(options);
        if (engine.Unavailable is { } why)
            throw new BenchmarkSetupException(why);
        var extractor = new TextExtractor(new ScanFilesOptions(), options);
        var reader = new OcrReader(engine, options);
        var matcher = HoleCodeMatcher.Create(targets);
        var ocrMatcher = HoleCodeMatcher.CreateForOcr(targets);

        Console.WriteLine($"ocr-accuracy: {pages} pages per resolution, {targets.Length} target codes, OCR concurrency {options.Concurrency}, psm {options.PageSegmentationMode}");
        Console.WriteLine("| DPI | pages | true pairs | found | recall | precision | OCR s/page (per child, summed) | wall s/page |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|");
        var ok = true;
        foreach (var dpi in dpis)
        {
            var random = new Random(dpi);
            var files = new List<(string Name, byte[] Content, HashSet<string> Truth)>();
            for (var i = 0; i < pages; i++)
            {
                var (lines, truth) = Page(random, targets);
                var image = ScannedFiles.ScanPage(lines, new ScannedFiles.Look(dpi, RotationDegrees: (random.NextDouble() * 1.6) - 0.8, Seed: i, Small: false), fontSize: 10);
                files.Add(($"scan-{dpi}-{i}.pdf", ScannedFiles.ImageOnlyPdf([image], dpi), truth));
            }

            var truePositives = 0;
            var found = 0;
            var truthCount = files.Sum(f => f.Truth.Count);
            var ocrTime = TimeSpan.Zero;
            var clock = Stopwatch.StartNew();
            var results = new FileScanResult[files.Count];
            await Parallel.ForEachAsync(Enumerable.Range(0, files.Count), new ParallelOptions { MaxDegreeOfParallelism = options.Concurrency }, async (i, token) =>
                results[i] = await FileScan.RunAsync(extractor, reader, matcher, ocrMatcher, files[i].Name, files[i].Content, token));
            var wall = clock.Elapsed;
            for (var i = 0; i < files.Count; i++)
            {
                if (results[i].Error is { } error)
                    Console.WriteLine($"  {files[i].Name}: {error.Message}");
                ocrTime += results[i].OcrTime;
                found += results[i].MatchedCodes.Count;
                truePositives += results[i].MatchedCodes.Count(files[i].Truth.Contains);
                foreach (var missed in files[i].Truth.Except(results[i].MatchedCodes))
                    Console.Error.WriteLine($"  missed {missed} in {files[i].Name}");
                foreach (var wrong in results[i].MatchedCodes.Except(files[i].Truth))
                    Console.Error.WriteLine($"  wrong {wrong} in {files[i].Name}");
            }

            var recall = truthCount == 0 ? 1 : (double)truePositives / truthCount;
            var precision = found == 0 ? 1 : (double)truePositives / found;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {dpi} | {files.Count} | {truthCount} | {found} | {recall:0.000} | {precision:0.000} | {ocrTime.TotalSeconds / files.Count:0.00} | {wall.TotalSeconds / files.Count:0.00} |"));
            if (dpi >= 300 && (recall < 0.95 || precision < 0.98))
                ok = false;
        }

        return ok ? 0 : 1;
    }

    private static string[] Targets() =>
    [
        .. Enumerable.Range(1, 120).Select(n => $"HOLE-{n}"),
        .. Enumerable.Range(1, 40).Select(n => $"BH-{n:00}"),
        .. Enumerable.Range(1, 20).Select(n => $"TP-{n}A"),
        .. Enumerable.Range(1, 20).Select(n => $"SB-{n:000}"),
    ];

    /// <summary>Twelve lines of log text: about four target codes, and near misses that must not match (HOLE-1200, HOLE-5B, BH-41).</summary>
    private static (string[] Lines, HashSet<string> Truth) Page(Random random, string[] targets)
    {
        var truth = new HashSet<string>(StringComparer.Ordinal);
        var lines = new List<string> { "GROUND INVESTIGATION - BOREHOLE RECORD", $"Sheet {random.Next(1, 40)} of 40    Scale 1:{random.Next(50, 500)}" };
        string[] templates =
        [
            "Borehole {0} drilled to {1} m below ground level.",
            "Sample {0} taken at {1} m, described as firm clay.",
            "Groundwater struck in {0} at {1} m; rose to {2} m.",
            "Casing to {1} m in {0}, see log.",
            "Trial pit {0} backfilled with arisings.",
        ];
        string[] filler =
        [
            "Logged by J. Smith, checked by A. Jones.",
            "Weather: overcast, dry. Plant: Dando 2000.",
            "Refer to drawing DWG-{2}/A for location plan.",
            "Near miss references: HOLE-{3}00, BH-{4}, HOLE-{5}B.",
        ];
        for (var line = 0; line < 10; line++)
        {
            var useCode = line % 2 == 0 || random.Next(3) == 0;
            var depth = (random.NextDouble() * 30).ToString("0.0", CultureInfo.InvariantCulture);
            var rise = (random.NextDouble() * 5).ToString("0.0", CultureInfo.InvariantCulture);
            if (useCode)
            {
                var code = targets[random.Next(targets.Length)];
                truth.Add(code);
                lines.Add(string.Format(CultureInfo.InvariantCulture, templates[random.Next(templates.Length)], code, depth, rise));
            }
            else
            {
                lines.Add(string.Format(CultureInfo.InvariantCulture, filler[random.Next(filler.Length)], "", depth, random.Next(100, 999), random.Next(13, 99), random.Next(41, 99), random.Next(1, 99)));
            }
        }

        return ([.. lines], truth);
    }
}
