using System.Diagnostics;

namespace Sagas.Benchmarks.Compare;

/// <summary>
/// <c>compare WORKLOAD [--base REF] [--rounds N] [workload options]</c>: runs the workload on a build of REF (default
/// the previous commit) and on this build in alternation, base then head, N rounds, and prints every figure both
/// printed with its runs and the ratio of the medians. Alternating spreads a slow minute of the machine over both
/// builds instead of over one, so a regression shows as a ratio rather than as a feeling.
/// </summary>
internal static class CompareCommand
{
    public const string Name = "compare";

    private const int DefaultRounds = 2;

    public static async Task<int> RunAsync(string[] args, IReadOnlyList<IWorkload> workloads)
    {
        if (args.Length == 0 || workloads.All(w => w.Name != args[0]))
        {
            Console.Error.WriteLine($"usage: dotnet run -c Release --project tests/Sagas.Benchmarks -- compare <{string.Join('|', workloads.Select(w => w.Name))}> [--base REF] [--rounds N] [workload options]");
            Console.Error.WriteLine("Runs the workload on REF's build (default HEAD~1) and on this build alternately (A B A B ...) and prints head / base per figure.");
            return 64;
        }

        var workload = args[0];
        var options = args[1..].ToList();
        if (options.Contains("--write-docs"))
            throw new BenchmarkSetupException("compare prints its comparison only; --write-docs records a single build's full run (run the workload by itself).");
        var rounds = BenchmarkArguments.Int([.. options], "--rounds", DefaultRounds);
        var reference = Take(options, "--base") ?? "HEAD~1";
        Take(options, "--rounds");

        var root = Path.GetDirectoryName(Path.GetDirectoryName(PerformanceDocument.Locate()))!;
        var baseCommit = await GitAsync(root, "rev-parse", "--verify", "--quiet", reference + "^{commit}")
            ?? throw new BenchmarkSetupException($"--base {reference}: no such commit in {root}.");
        var baseLabel = (await GitAsync(root, "rev-parse", "--short", baseCommit))!;
        var headLabel = (await GitAsync(root, "rev-parse", "--short", "HEAD"))!
            + (string.IsNullOrWhiteSpace(await GitAsync(root, "status", "--porcelain", "--untracked-files=no")) ? "" : "+changes");
        var headAssembly = typeof(CompareCommand).Assembly.Location;
        var baseAssembly = await BuildBaseAsync(root, baseCommit);

        Console.WriteLine($"# compare {workload}: {baseLabel} (base) and {headLabel} (this build), {rounds} rounds, alternating");
        Console.WriteLine(BenchmarkMachine.Describe());
        var baseRuns = new List<IReadOnlyList<ResultFigure>>();
        var headRuns = new List<IReadOnlyList<ResultFigure>>();
        for (var round = 1; round <= rounds; round++)
        {
            foreach (var (label, assembly, runs) in new[] { (baseLabel, baseAssembly, baseRuns), (headLabel, headAssembly, headRuns) })
            {
                var tag = $"{label} {round}/{rounds}";
                Console.Error.WriteLine($"[compare] {tag}: {workload} {string.Join(' ', options)}");
                var (exitCode, output) = await RunWorkloadAsync(assembly, workload, options, tag);
                if (exitCode != 0)
                {
                    // A run whose correctness checks failed has no figure worth comparing.
                    Console.Error.WriteLine($"[compare] {tag} exited {exitCode}; comparison stopped.");
                    return exitCode;
                }

                runs.Add(ResultFigures.Read(PerformanceDocument.WithoutLogLines(output)));
            }
        }

        var (compared, unmatched) = Comparison.Of(baseRuns, headRuns);
        Console.WriteLine();
        Console.Write(Comparison.Table(compared, baseLabel, headLabel));
        if (unmatched.Count > 0)
            Console.WriteLine($"{Environment.NewLine}not in every run of both builds, not compared: {string.Join("; ", unmatched)}");
        Console.WriteLine($"{Environment.NewLine}load average after: {BenchmarkMachine.LoadAverage()}");
        return compared.Count > 0 ? 0 : 1;
    }

    /// <summary>
    /// Builds the base commit's benchmark tool from <c>git archive</c> (no worktree is registered in the repository) in a
    /// folder named by the commit, kept for the next comparison against the same base.
    /// </summary>
    private static async Task<string> BuildBaseAsync(string root, string commit)
    {
        var folder = Path.Combine(Path.GetTempPath(), "sagas-compare", commit);
        var assembly = Path.Combine(folder, "tests", "Sagas.Benchmarks", "bin", "Release", "net10.0", "Sagas.Benchmarks.dll");
        var built = Path.Combine(folder, ".built");
        if (File.Exists(built) && File.Exists(assembly))
        {
            Console.Error.WriteLine($"[compare] base build {folder} (kept from an earlier comparison)");
            return assembly;
        }

        if (Directory.Exists(folder))
            Directory.Delete(folder, recursive: true);
        Directory.CreateDirectory(folder);
        var archive = folder + ".tar";
        await RunAsync("git", root, ["archive", "--format=tar", "-o", archive, commit], "git archive");
        await RunAsync("tar", folder, ["-xf", archive], "tar");
        File.Delete(archive);
        Console.Error.WriteLine($"[compare] building the base {commit[..10]} in {folder}");
        await RunAsync("dotnet", folder, ["build", "tests/Sagas.Benchmarks", "-c", "Release", "-nologo", "-v", "quiet"], "the base build");
        if (!File.Exists(assembly))
            throw new BenchmarkSetupException($"the base build has no {assembly}; is {commit[..10]} older than the benchmark tool?");
        await File.WriteAllTextAsync(built, commit);
        return assembly;
    }

    private static async Task<(int ExitCode, string Output)> RunWorkloadAsync(string assembly, string workload, IReadOnlyList<string> options, string tag)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = Path.GetDirectoryName(assembly)!,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(assembly);
        start.ArgumentList.Add(workload);
        foreach (var option in options)
            start.ArgumentList.Add(option);

        using var process = Process.Start(start) ?? throw new BenchmarkSetupException("could not start dotnet");
        var output = new System.Text.StringBuilder();
        string? line;
        while ((line = await process.StandardOutput.ReadLineAsync()) is not null)
        {
            output.AppendLine(line);
            Console.Error.WriteLine($"[{tag}] {line}");
        }

        await process.WaitForExitAsync();
        return (process.ExitCode, output.ToString());
    }

    private static async Task RunAsync(string file, string directory, IReadOnlyList<string> arguments, string what)
    {
        var start = new ProcessStartInfo(file) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        using var process = Process.Start(start) ?? throw new BenchmarkSetupException($"could not start {file}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
            throw new BenchmarkSetupException($"{what} failed ({process.ExitCode}):{Environment.NewLine}{await stdout}{await stderr}");
    }

    private static async Task<string?> GitAsync(string root, params string[] arguments)
    {
        var start = new ProcessStartInfo("git") { WorkingDirectory = root, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);
        using var process = Process.Start(start) ?? throw new BenchmarkSetupException("could not start git");
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return process.ExitCode == 0 ? output.Trim() : null;
    }

    /// <summary>Removes <paramref name="name"/> and its value from the workload's options; returns the value.</summary>
    private static string? Take(List<string> options, string name)
    {
        var index = options.IndexOf(name);
        if (index < 0)
            return null;
        if (index + 1 >= options.Count)
            throw new BenchmarkSetupException($"{name} needs a value.");
        var value = options[index + 1];
        options.RemoveRange(index, 2);
        return value;
    }
}
