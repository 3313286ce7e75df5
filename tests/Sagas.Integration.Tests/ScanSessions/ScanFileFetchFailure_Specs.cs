using System.Text;
using ClosedXML.Excel;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Sagas.Components.Tests.Infrastructure;
using Sagas.Contracts.ScanSessions;
using Sagas.Hosting;
using Sagas.Integration.Tests.Infrastructure;
using Sagas.Integration.Tests.Transports.AmazonSqs;
using Sagas.Messaging.FailedMessages;
using Sagas.Persistence;
using Sagas.ScanSessions.Data;
using Sagas.Storage.Blobs;
using Sagas.Workflows;

namespace Sagas.Integration.Tests.ScanSessions;

/// <summary>
/// A file that cannot be fetched is that file's problem: an Error row, one warning, no fault. Its batch-mates are
/// counted as usual, and a manifest row that is refused before any fetch is a row of the results too.
/// </summary>
public sealed class When_a_manifest_lists_a_file_that_cannot_be_fetched : IClassFixture<PostgresDatabase>
{
    private const int GoodFiles = 6;
    private readonly PostgresDatabase _database;

    public When_a_manifest_lists_a_file_that_cannot_be_fetched(PostgresDatabase database) => _database = database;

    [ServerFact(postgres: true, rabbitMq: false)]
    public async Task Should_record_an_unreachable_url_as_its_own_error_row_without_faulting_its_batch()
    {
        await using var stub = await StartFilesAsync();
        var down = new Uri(stub.BaseAddress, "down/outage.txt");
        var rows = GoodRows(stub).Append(("outage.txt", down.AbsoluteUri));
        var logs = new CapturedLogs();
        await using var host = await StartHostAsync(logs);

        var sessionId = await StartSessionAsync(host, rows);
        Assert.Equal("Completed", await host.WaitForSagaAsync(sessionId, "Completed", TimeSpan.FromSeconds(90)));

        var session = await host.QueryAsync(db => db.Set<ScanSession>().AsNoTracking().SingleAsync(s => s.Id == sessionId));
        var results = await host.QueryAsync(db => db.Set<ScanFileResult>().AsNoTracking().Where(r => r.SessionId == sessionId).ToListAsync());
        Assert.Equal((GoodFiles + 1, GoodFiles + 1, 1), (session.TotalFiles, session.ProcessedFiles, session.ErrorFiles));
        Assert.Equal(GoodFiles + 1, results.Count);
        var failed = Assert.Single(results, r => r.Status == "Error");
        Assert.Equal("outage.txt", failed.Name);
        Assert.Contains("HTTP 503", failed.Error, StringComparison.Ordinal);
        Assert.All(results.Where(r => r.Name != "outage.txt"), r => Assert.Equal("1 Code", r.Status));

        // Only the failed file was fetched again (the first attempt and one retry); its batch-mates once each.
        Assert.Equal(2, stub.Count("GET", "/down/"));
        Assert.All(Enumerable.Range(0, GoodFiles), i => Assert.Equal(1, stub.Count("GET", $"/files/sheet-{i}.txt")));

        var faults = await host.QueryAsync(db => db.Set<FailedMessage>().AsNoTracking().ToListAsync());
        Assert.DoesNotContain(faults, f => Encoding.UTF8.GetString(f.Body).Contains(sessionId.ToString(), StringComparison.OrdinalIgnoreCase));
        Assert.DoesNotContain(logs.Lines, line => line.Level >= LogLevel.Error);
        Assert.Single(logs.Lines, line => line.Level == LogLevel.Warning && line.Message.Contains("outage.txt", StringComparison.Ordinal));
    }

    [ServerFact(postgres: true, rabbitMq: false)]
    public async Task Should_list_a_refused_manifest_row_as_an_error_row_in_the_results_and_the_report()
    {
        await using var stub = await StartFilesAsync();
        var rows = GoodRows(stub).Append(("passwords", "file:///etc/passwd"));
        await using var host = await StartHostAsync(new CapturedLogs());

        var sessionId = await StartSessionAsync(host, rows);
        Assert.Equal("Completed", await host.WaitForSagaAsync(sessionId, "Completed", TimeSpan.FromSeconds(90)));

        var session = await host.QueryAsync(db => db.Set<ScanSession>().AsNoTracking().SingleAsync(s => s.Id == sessionId));
        var results = await host.QueryAsync(db => db.Set<ScanFileResult>().AsNoTracking().Where(r => r.SessionId == sessionId).ToListAsync());
        Assert.Equal((GoodFiles + 1, GoodFiles + 1, 1), (session.TotalFiles, session.ProcessedFiles, session.ErrorFiles));
        var refused = Assert.Single(results, r => r.Status == "Error");
        Assert.Equal("passwords", refused.Name);
        Assert.Contains("Row 8", refused.Error, StringComparison.Ordinal);
        Assert.Contains("file:///etc/passwd", refused.Error, StringComparison.Ordinal);
        Assert.Equal(0, stub.Count("GET", "/etc"));

        var blobs = host.Services.GetRequiredService<IBlobStore>();
        await using var report = await blobs.OpenReadAsync(session.ReportBlobKey!);
        using var copy = new MemoryStream();
        await report.Content.CopyToAsync(copy);
        using var workbook = new XLWorkbook(copy);
        var sheet = workbook.Worksheet("Files");
        Assert.Equal(GoodFiles + 2, sheet.LastRowUsed()!.RowNumber());
        Assert.Contains(sheet.RowsUsed(), row => row.Cells().Any(c => c.GetString() == "passwords") && row.Cells().Any(c => c.GetString() == "Error"));
    }

    private static IEnumerable<(string Name, string Link)> GoodRows(HttpStub stub) =>
        Enumerable.Range(0, GoodFiles).Select(i => ($"sheet-{i}.txt", new Uri(stub.BaseAddress, $"files/sheet-{i}.txt").AbsoluteUri));

    private static Task<HttpStub> StartFilesAsync() => HttpStub.StartAsync(app =>
    {
        app.MapGet("/files/{name}", (string name) => Results.Text($"{name} drills EB-1 at C4.", "text/plain"));
        app.MapGet("/down/{name}", () => Results.StatusCode(StatusCodes.Status503ServiceUnavailable));
    });

    private async Task<ScanSessionHost> StartHostAsync(CapturedLogs logs) =>
        await ScanSessionHost.StartAsync(_database, new Dictionary<string, string?> { ["Messaging:Transport"] = "InMemory" }, echoFiles: false, configure: builder =>
        {
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["ScanSessions:Fetching:AllowPrivateNetworks"] = "true",
                ["ScanSessions:Fetching:UrlMaxRetries"] = "0",
                ["ScanSessions:FileRetryLimit"] = "1",
                ["ScanSessions:FileRetryDelay"] = "00:00:00.200",
                ["Logging:LogLevel:Default"] = "Information",
            });
        }, logs);

    private static async Task<Guid> StartSessionAsync(ScanSessionHost host, IEnumerable<(string Name, string Link)> rows)
    {
        var sessionId = NewId.NextGuid();
        var csv = new StringBuilder("name,url\n");
        foreach (var (name, link) in rows)
            csv.Append(name).Append(',').Append(link).Append('\n');
        var key = $"scan-uploads/{sessionId:N}/manifest";
        await host.Services.GetRequiredService<IBlobStore>().PutAsync(key, new MemoryStream(Encoding.UTF8.GetBytes(csv.ToString())), "text/csv");
        await host.Services.GetRequiredService<IBus>().Publish(new StartScanSession(
            sessionId, new ScanSource(ManifestBlobKey: key, ManifestName: "manifest.csv"), ["EB-1"], "specs"));
        return sessionId;
    }
}
