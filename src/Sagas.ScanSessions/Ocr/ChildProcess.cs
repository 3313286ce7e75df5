using System.Diagnostics;
using System.Text;

namespace Sagas.ScanSessions.Ocr;

/// <summary>What a finished child process left: exit code, its (bounded) output and how long it ran.</summary>
internal sealed record ChildProcessResult(int ExitCode, string StandardOutput, string StandardError, TimeSpan Elapsed);

/// <summary>The child outlived its time limit and was killed, or could not be started.</summary>
internal sealed class ChildProcessFailedException(string message) : Exception(message);

/// <summary>
/// Runs one OCR tool as a child process with a wall-clock limit. On timeout or cancellation the child and anything it
/// started are killed, so a hostile page cannot keep a worker's CPU after its file is given up. Output beyond
/// <c>maxOutputChars</c> is read and dropped, so a chatty child can neither block on a full pipe nor fill memory.
/// With a memory cap the tool is started through <c>prlimit</c>, which sets the address-space limit on itself and
/// then becomes the tool (exec): the limit holds from the tool's first instruction and the process id stays the same.
/// </summary>
internal static class ChildProcess
{
    public static async Task<ChildProcessResult> RunAsync(
        string executable,
        IEnumerable<string> arguments,
        TimeSpan timeout,
        int maxOutputChars,
        CancellationToken cancellationToken,
        (string Prlimit, long Bytes)? memoryCap = null)
    {
        var start = new ProcessStartInfo(memoryCap?.Prlimit ?? executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        if (memoryCap is { } cap)
        {
            start.ArgumentList.Add("--as=" + cap.Bytes.ToString(System.Globalization.CultureInfo.InvariantCulture));
            start.ArgumentList.Add("--");
            start.ArgumentList.Add(executable);
        }

        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);

        // Tesseract would start a thread per core for each page; the worker's OCR concurrency setting is the bound instead.
        start.Environment["OMP_THREAD_LIMIT"] = "1";

        using var process = new Process { StartInfo = start };
        var clock = Stopwatch.StartNew();
        process.Start();
        process.StandardInput.Close();

        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        var output = ReadBoundedAsync(process.StandardOutput, maxOutputChars);
        var error = ReadBoundedAsync(process.StandardError, 4_000);
        try
        {
            await process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            Kill(process);
            cancellationToken.ThrowIfCancellationRequested();
            throw new ChildProcessFailedException(
                $"{Path.GetFileName(executable)} took longer than {timeout.TotalSeconds:0} s (ScanSessions:Ocr:PageTimeout) and was stopped.");
        }

        return new ChildProcessResult(process.ExitCode, await output, await error, clock.Elapsed);
    }

    private static void Kill(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit(5_000);
        }
        catch (InvalidOperationException)
        {
            // It exited between the timeout and the kill.
        }
    }

    private static async Task<string> ReadBoundedAsync(StreamReader reader, int maxChars)
    {
        var text = new StringBuilder();
        var buffer = new char[8192];
        int read;
        while ((read = await reader.ReadAsync(buffer)) > 0)
        {
            var room = maxChars - text.Length;
            if (room > 0)
                text.Append(buffer, 0, Math.Min(room, read));
        }

        return text.ToString();
    }
}
