using System.IO.Compression;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Sagas.Api.Tests.ScanSessions;

/// <summary>The embedded default (in-memory bus, SQLite, local blobs) with small limits so the bad-input specs stay small.</summary>
public class ScanSessionsApi : WebApplicationFactory<Program>
{
    public const string SigningKey = "scan-session-specs-signing-key-0123456789";
    public const int MaxUploadBytes = 200_000;
    public const int MaxHoleCodes = 50;

    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "sagas-api-tests-" + Guid.NewGuid().ToString("N"));

    public string BlobRoot => Path.Combine(_dataDirectory, "blobs");

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Development");
        builder.UseSetting("Database:DataDirectory", _dataDirectory);
        builder.UseSetting("Storage:Local:Root", BlobRoot);
        builder.UseSetting("Storage:Local:SigningKey", SigningKey);
        builder.UseSetting("ScanSessions:ProgressInterval", "00:00:00");
        builder.UseSetting("ScanSessions:Files:MaxUploadBytes", MaxUploadBytes.ToString(global::System.Globalization.CultureInfo.InvariantCulture));
        builder.UseSetting("ScanSessions:Files:MaxHoleCodes", MaxHoleCodes.ToString(global::System.Globalization.CultureInfo.InvariantCulture));
        builder.UseSetting("Api:ScanSessions:MaxFilesPerUpload", "20");
        builder.UseSetting("Api:Realtime:MaxMessageBytes", "400000");
        builder.UseSetting("Api:Realtime:ProgressInterval", "00:00:00");
        ConfigureMore(builder);
    }

    protected virtual void ConfigureMore(IWebHostBuilder builder)
    {
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing && Directory.Exists(_dataDirectory))
            Directory.Delete(_dataDirectory, recursive: true);
    }
}

/// <summary>Files and polling shared by the scan session specs.</summary>
public static class ScanFixtures
{
    /// <summary>A ZIP of <paramref name="count"/> text files; file i holds code EB-{i % 3} when i is even, nothing otherwise.</summary>
    public static byte[] Zip(int count)
    {
        using var buffer = new MemoryStream();
        using (var archive = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            for (var i = 0; i < count; i++)
            {
                var entry = archive.CreateEntry($"drawings/file-{i:D3}.txt");
                using var writer = new StreamWriter(entry.Open(), Encoding.UTF8);
                writer.Write(i % 2 == 0 ? $"Drawing {i} references EB-{i % 3} twice: EB-{i % 3}." : $"Drawing {i} has EB-10 and HOLE-12 only.");
            }
        }

        return buffer.ToArray();
    }

    /// <summary>Files of <see cref="Zip"/> that match one of EB-0, EB-1, EB-2.</summary>
    public static int MatchingFiles(int count) => (count + 1) / 2;

    public static readonly string[] Codes = ["EB-0", "EB-1", "EB-2"];

    public static async Task<JsonElement> WaitForSessionAsync(HttpClient client, Guid id, Func<JsonElement, bool> condition)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (true)
        {
            using var response = await client.GetAsync(new Uri($"/api/scan-sessions/{id}", UriKind.Relative), deadline.Token);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                var session = await response.Content.ReadFromJsonAsync<JsonElement>(deadline.Token);
                if (condition(session))
                    return session;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100), deadline.Token);
        }
    }

    public static bool IsFinished(JsonElement session) => session.GetProperty("status").GetString() is "completed" or "failed" or "cancelled";
}
