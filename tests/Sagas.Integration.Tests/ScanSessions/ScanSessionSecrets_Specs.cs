using System.Collections.Concurrent;
using System.Diagnostics;
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
using RabbitMQ.Client;
using Sagas.Components.Tests.Infrastructure;
using Sagas.Contracts.ScanSessions;
using Sagas.Core.Configuration;
using Sagas.Hosting;
using Sagas.Integration.Tests.Infrastructure;
using Sagas.Messaging.FailedMessages;
using Sagas.Messaging.Outbox;
using Sagas.Persistence;
using Sagas.ScanSessions;
using Sagas.ScanSessions.Api;
using Sagas.ScanSessions.Data;
using Sagas.ScanSessions.StateMachines;
using Sagas.Storage.Blobs;
using Sagas.Workflows;

namespace Sagas.Integration.Tests.ScanSessions;

/// <summary>
/// A user's Google Drive token and a signed URL's signature, followed through a whole session over RabbitMQ and
/// PostgreSQL: an API process stores the session (as <c>POST /api/scan-sessions</c> does) and a worker process
/// dispatches, scans (a Drive stub that checks the token) and reports. Neither secret may be found in any message
/// body (the outbox row, every delivery, the <c>_error</c> queues, <c>failed_messages</c>), the report, the events or
/// any log line of either process; the token's encrypted row is gone when the session ends.
/// </summary>
public sealed class When_a_scan_session_carries_a_drive_token_and_signed_urls : IClassFixture<PostgresDatabase>, IClassFixture<RabbitMqVirtualHost>, IAsyncLifetime
{
    private const string GoodFile = "1DriveHoleScheduleAAAAAAAAAAAAA";
    private const string OtherFile = "1DriveHoleScheduleBBBBBBBBBBBBB";
    private const string BrokenFile = "1DriveHoleScheduleBrokenCCCCCCC";
    private const string SlowFile = "1DriveHoleScheduleSlowDDDDDDDDD";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(120);

    private readonly PostgresDatabase _database;
    private readonly RabbitMqVirtualHost _broker;
    private readonly string _token = "ya29.spec-" + Guid.NewGuid().ToString("N");
    private readonly string _signature = "spec" + Guid.NewGuid().ToString("N");
    private readonly string _root = Path.Combine(Path.GetTempPath(), $"sagas-secrets-{Guid.NewGuid():N}");
    private readonly TaskCompletionSource _releaseSlowFile = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private HttpStub _files = null!;

    public When_a_scan_session_carries_a_drive_token_and_signed_urls(PostgresDatabase database, RabbitMqVirtualHost broker)
    {
        _database = database;
        _broker = broker;
    }

    public async Task InitializeAsync()
    {
        _files = await HttpStub.StartAsync(app =>
        {
            app.MapGet("/drive/v3/files/{id}", async (string id, HttpContext context) =>
            {
                if (context.Request.Headers.Authorization != $"Bearer {_token}")
                    return Results.Text("""{"error":{"code":401,"message":"Invalid Credentials","errors":[{"reason":"authError"}]}}""", "application/json", statusCode: 401);
                if (id == BrokenFile)
                    return Results.Text("""{"error":{"code":503,"message":"Backend Error","errors":[{"reason":"backendError"}]}}""", "application/json", statusCode: 503);
                if (id == SlowFile)
                    await _releaseSlowFile.Task.WaitAsync(context.RequestAborted);
                var text = $"Drawing {id}: hole EB-101";
                return context.Request.Query["alt"] == "media"
                    ? Results.Text(text, "text/plain")
                    : Results.Text($$"""{"id":"{{id}}","name":"{{id}}.txt","mimeType":"text/plain","size":"{{text.Length}}","webViewLink":"https://drive.google.com/file/d/{{id}}/view"}""", "application/json");
            });
            app.MapGet("/exports/site-plan.txt", (HttpContext context) => context.Request.Query["X-Amz-Signature"] == _signature
                ? Results.Text("Site plan: hole EB-101", "text/plain")
                : Results.StatusCode(403));
        });
    }

    public async Task DisposeAsync()
    {
        _releaseSlowFile.TrySetResult();
        await _files.DisposeAsync();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
            // Nothing was stored.
        }
    }

    [ServerFact(postgres: true, rabbitMq: true)]
    public async Task Should_keep_the_token_and_the_signature_out_of_every_message_report_event_and_log_line()
    {
        var signedUrl = $"{_files.BaseAddress}exports/site-plan.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature={_signature}";
        await using var processes = await SessionProcesses.StartAsync(this);
        // The processes start together; whichever reached the empty key table first, the ring holds one key.
        Assert.Equal(1, await _database.QueryAsync(db => db.Set<Microsoft.AspNetCore.DataProtection.EntityFrameworkCore.DataProtectionKey>().CountAsync()));

        var outboxAtStart = new List<string>();
        var storedAtStart = new List<string>();
        var sessionId = await StartAsync(processes, new ScanSessionSubmission
        {
            Codes = ["EB-101"],
            Urls = [Drive(GoodFile), Drive(OtherFile), Drive(BrokenFile), signedUrl],
            DriveToken = _token,
            RequestedBy = "specs",
        }, id =>
        {
            // Between the API's commit and the dispatcher's wake-up: what the API left in the database.
            using var db = _database.NewContext();
            outboxAtStart.AddRange(db.Set<OutboxMessage>().AsNoTracking().Select(m => m.Body).ToList());
            storedAtStart.AddRange(db.Set<ScanSessionSecret>().AsNoTracking().Where(s => s.SessionId == id).Select(s => s.ProtectedDriveToken).ToList());
        });

        await processes.WaitForSagaAsync(sessionId, "Completed");
        var session = await _database.QueryAsync(db => db.Set<ScanSession>().AsNoTracking().SingleAsync(s => s.Id == sessionId));
        Assert.Equal((4, 4, 3, 1), (session.TotalFiles, session.ProcessedFiles, session.TotalMatches, session.ErrorFiles));
        await processes.WaitUntilAsync(() => Task.FromResult(processes.Events.Count(e => e is ScanMatchFound found && found.SessionId == sessionId) == 3));
        await processes.WaitUntilAsync(async () => await _database.QueryAsync(db => db.Set<OutboxMessage>().CountAsync()) == 0);

        // The token was used (the stub refuses anything else) and kept only encrypted, and only until the end.
        Assert.Contains(_files.Requests, r => r.Path.StartsWith($"/drive/v3/files/{GoodFile}?alt=media", StringComparison.Ordinal));
        Assert.Contains(_files.Requests, r => r.Path.StartsWith($"/drive/v3/files/{OtherFile}?alt=media", StringComparison.Ordinal));
        Assert.All(_files.Requests.Where(r => r.Path.StartsWith("/drive/", StringComparison.Ordinal)), r => Assert.Equal($"Bearer {_token}", r.Headers["Authorization"]));
        var stored = Assert.Single(storedAtStart);
        Assert.DoesNotContain(_token, stored, StringComparison.Ordinal);
        Assert.Equal(0, await _database.QueryAsync(db => db.Set<ScanSessionSecret>().CountAsync(s => s.SessionId == sessionId)));

        // Every stored or delivered message body, and the error queues.
        // The broken file is its own Error row: its fetch failures fault no message (docs/scan-sessions.md, "Errors"), so
        // the error queues and failed_messages are searched for whatever else may be there.
        var failed = await _database.QueryAsync(db => db.Set<FailedMessage>().AsNoTracking().ToListAsync());
        Assert.DoesNotContain(failed, f => f.Queue is "scan-file" or "scan-file-chunk");
        var errorQueues = await ErrorQueueMessagesAsync();
        var bodies = outboxAtStart
            .Concat(processes.DeliveredBodies)
            .Concat(failed.Select(f => Encoding.UTF8.GetString(f.Body) + f.Headers + f.ExceptionMessage + f.StackTrace))
            .Concat(errorQueues)
            .ToList();
        Assert.Contains(bodies, body => body.Contains(typeof(StartScanSession).Name, StringComparison.Ordinal));
        Assert.Contains(bodies, body => body.Contains(BrokenFile, StringComparison.Ordinal));
        AssertNoSecret(bodies, "message bodies", signature: false);

        // What users see: the result rows, the events behind MATCH_FOUND, the workbook.
        var results = await _database.QueryAsync(db => db.Set<ScanFileResult>().AsNoTracking().Where(r => r.SessionId == sessionId).OrderBy(r => r.FileIndex).ToListAsync());
        var plainUrl = $"{_files.BaseAddress}exports/site-plan.txt";
        Assert.Equal([$"https://drive.google.com/file/d/{GoodFile}/view", $"https://drive.google.com/file/d/{OtherFile}/view", $"https://drive.google.com/file/d/{BrokenFile}/view", plainUrl], results.Select(r => r.Link));
        Assert.Equal(plainUrl, results[3].Locator);
        var matchLinks = processes.Events.OfType<ScanMatchFound>().Where(e => e.SessionId == sessionId).Select(e => e.Link ?? "").ToList();
        Assert.Contains(plainUrl, matchLinks);
        AssertNoSecret([.. results.SelectMany(r => new[] { r.Link, r.Locator, r.Error }).OfType<string>(), .. matchLinks], "result rows and events", signature: true);
        AssertNoSecret([await ReportTextAsync(processes, session.ReportBlobKey!)], "the report", signature: true);

        // Every log line of both processes, at every level.
        // The capture sees the fetches themselves (the client logs the URL with its query redacted, the Drive calls' headers redacted).
        Assert.Contains(processes.LogLines, line => line.Contains("/exports/site-plan.txt", StringComparison.Ordinal));
        AssertNoSecret(processes.LogLines, "log lines", signature: true);
    }

    [ServerFact(postgres: true, rabbitMq: true)]
    public async Task Should_forget_the_token_when_the_session_fails_or_is_cancelled()
    {
        await using var processes = await SessionProcesses.StartAsync(this);

        // Failed at dispatch: a manifest without a single usable link.
        var manifest = "name,link\nplan,not a link\n"u8.ToArray();
        var failedId = await StartAsync(processes, new ScanSessionSubmission
        {
            Codes = ["EB-101"],
            Manifest = new IncomingFile("links.csv", new MemoryStream(manifest), manifest.Length, "text/csv"),
            DriveToken = _token,
        });
        await processes.WaitForSagaAsync(failedId, "Failed");
        Assert.Equal(0, await _database.QueryAsync(db => db.Set<ScanSessionSecret>().CountAsync(s => s.SessionId == failedId)));

        // Cancelled while a Drive file is being read.
        var cancelledId = await StartAsync(processes, new ScanSessionSubmission { Codes = ["EB-101"], Urls = [Drive(SlowFile)], DriveToken = _token });
        await processes.WaitUntilAsync(() => Task.FromResult(_files.Requests.Any(r => r.Path.StartsWith($"/drive/v3/files/{SlowFile}", StringComparison.Ordinal))));
        Assert.Equal(1, await _database.QueryAsync(db => db.Set<ScanSessionSecret>().CountAsync(s => s.SessionId == cancelledId)));
        await processes.Api.Services.GetRequiredService<IBus>().Publish(new CancelScanSession(cancelledId));
        await processes.WaitForSagaAsync(cancelledId, "Cancelled");
        await processes.WaitUntilAsync(async () => await _database.QueryAsync(db => db.Set<ScanSession>().AnyAsync(s => s.Id == cancelledId && s.Status == ScanSessionStatus.Cancelled)));
        Assert.Equal(0, await _database.QueryAsync(db => db.Set<ScanSessionSecret>().CountAsync(s => s.SessionId == cancelledId)));
        _releaseSlowFile.TrySetResult();

        AssertNoSecret(processes.DeliveredBodies, "message bodies", signature: false);
        AssertNoSecret(processes.LogLines, "log lines", signature: false);
    }

    private static string Drive(string id) => $"https://drive.google.com/file/d/{id}/view?usp=sharing";

    private static async Task<Guid> StartAsync(SessionProcesses processes, ScanSessionSubmission submission, Action<Guid>? beforePublish = null)
    {
        await using var scope = processes.Api.Services.CreateAsyncScope();
        var (id, error) = await scope.ServiceProvider.GetRequiredService<ScanSessionStarter>().StartAsync(submission, CancellationToken.None, beforePublish);
        Assert.Null(error);
        return id!.Value;
    }

    private void AssertNoSecret(IEnumerable<string> texts, string where, bool signature)
    {
        foreach (var text in texts)
        {
            Assert.False(text.Contains(_token, StringComparison.Ordinal), $"The Drive token is in {where}: {text}");
            if (signature)
                Assert.False(text.Contains(_signature, StringComparison.Ordinal), $"The URL signature is in {where}: {text}");
        }
    }

    private static async Task<string> ReportTextAsync(SessionProcesses processes, string key)
    {
        await using var blob = await processes.Worker.Services.GetRequiredService<IBlobStore>().OpenReadAsync(key);
        using var copy = new MemoryStream();
        await blob.Content.CopyToAsync(copy);
        using var workbook = new XLWorkbook(copy);
        var text = new StringBuilder();
        foreach (var cell in workbook.Worksheets.SelectMany(sheet => sheet.CellsUsed()))
        {
            text.AppendLine(cell.GetString());
            if (cell.HasHyperlink)
                text.AppendLine(cell.GetHyperlink().ExternalAddress?.ToString());
        }

        Assert.Contains("site-plan.txt", text.ToString(), StringComparison.Ordinal);
        return text.ToString();
    }

    /// <summary>Bodies and headers of every message in every <c>_error</c> queue of the test's virtual host, left in place.</summary>
    private async Task<List<string>> ErrorQueueMessagesAsync()
    {
        var queues = await ErrorQueuesAsync();
        var factory = new ConnectionFactory { Uri = _broker.Address };
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        var messages = new List<string>();
        foreach (var queue in queues)
        {
            while (await channel.BasicGetAsync(queue, autoAck: false) is { } message)
            {
                var headers = message.BasicProperties.Headers?.Select(h => $"{h.Key}={(h.Value is byte[] bytes ? Encoding.UTF8.GetString(bytes) : h.Value)}") ?? [];
                messages.Add(Encoding.UTF8.GetString(message.Body.Span) + string.Join("\n", headers));
            }
        }

        return messages;
    }

    private async Task<List<string>> ErrorQueuesAsync()
    {
        if (TestServers.RabbitMqCtl is not { } ctl)
            return ["scan-file_error"];

        var start = new ProcessStartInfo(ctl) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "list_queues", "-q", "-p", Uri.UnescapeDataString(_broker.Address.AbsolutePath.TrimStart('/')) is { Length: > 0 } vhost ? vhost : "/", "name" })
            start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.Equal(0, process.ExitCode);
        return [.. output.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Where(name => name.EndsWith("_error", StringComparison.Ordinal))];
    }

    /// <summary>An API process and a worker process on one database and broker, each with every log line and delivered body captured.</summary>
    private sealed class SessionProcesses : IAsyncDisposable
    {
        private readonly When_a_scan_session_carries_a_drive_token_and_signed_urls _spec;
        private readonly CapturedLines _logs = new();
        private readonly BodyCapture _bodies = new();
        private readonly SecretSpecEventLog _events = new();
        private readonly List<ConnectHandle> _observers = [];

        private SessionProcesses(When_a_scan_session_carries_a_drive_token_and_signed_urls spec) => _spec = spec;

        public IHost Api { get; private set; } = null!;

        public IHost Worker { get; private set; } = null!;

        public ConcurrentQueue<object> Events => _events.Events;

        public IReadOnlyCollection<string> LogLines => _logs.Lines;

        public IReadOnlyCollection<string> DeliveredBodies => _bodies.Bodies;

        public static async Task<SessionProcesses> StartAsync(When_a_scan_session_carries_a_drive_token_and_signed_urls spec)
        {
            // The schema first: two processes migrating one new database at once is a start-up race of its own.
            await using (var db = spec._database.NewContext())
                await db.Database.MigrateAsync();

            var processes = new SessionProcesses(spec);
            processes.Api = processes.Build("none", api: true);
            // The scheduler sends the broken file's second attempt (a scheduled ScanFile of that file alone).
            processes.Worker = processes.Build("scan-sessions,scan-files,scheduler", api: false);
            // Together, as a deployment's processes start: the key ring gets one first key whoever comes first.
            await Task.WhenAll(processes.Api.StartAsync(), processes.Worker.StartAsync());
            foreach (var host in new[] { processes.Api, processes.Worker })
                processes._observers.Add(host.Services.GetRequiredService<IBus>().ConnectReceiveObserver(processes._bodies));
            return processes;
        }

        public async Task WaitForSagaAsync(Guid sessionId, string state) =>
            await WaitUntilAsync(async () => await _spec._database.QueryAsync(db => db.Set<ScanSessionState>().AsNoTracking()
                .AnyAsync(s => s.CorrelationId == sessionId && s.CurrentState == state)));

        public async Task WaitUntilAsync(Func<Task<bool>> condition)
        {
            using var deadline = new CancellationTokenSource(Deadline);
            while (!await condition())
                await Task.Delay(TimeSpan.FromMilliseconds(100), deadline.Token);
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var observer in _observers)
                observer.Disconnect();
            foreach (var host in new[] { Worker, Api })
            {
                await host.StopAsync();
                host.Dispose();
            }
        }

        private IHost Build(string roles, bool api)
        {
            var builder = Host.CreateApplicationBuilder();
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Messaging:Transport"] = "RabbitMq",
                ["Messaging:RabbitMq:Uri"] = _spec._broker.Address.ToString(),
                ["Database:Provider"] = "PostgreSql",
                ["Database:ConnectionString"] = _spec._database.ConnectionString,
                ["Worker:Roles"] = roles,
                ["Storage:Provider"] = "Local",
                ["Storage:Local:Root"] = Path.Combine(_spec._root, "blobs"),
                ["Storage:Local:SigningKey"] = new string('k', 40),
                ["ScanSessions:ProgressInterval"] = "00:00:00",
                ["ScanSessions:FileRetryLimit"] = "1",
                ["ScanSessions:Drive:BaseUrl"] = _spec._files.BaseAddress.ToString(),
                ["ScanSessions:Drive:MaxRetries"] = "0",
                ["ScanSessions:Fetching:AllowPrivateNetworks"] = "true",
                ["ScanSessions:Fetching:UrlMaxRetries"] = "0",
                ["Logging:LogLevel:Default"] = "Trace",
            });
            builder.Services.AddSingleton(_events);
            builder.AddSagas(api ? "secrets-api" : "secrets-worker", SagasWorkflows.Catalog, x =>
            {
                if (api)
                    x.AddConsumer<SecretSpecEvents>().Endpoint(e => e.Name = "secret-spec-events");
            });
            // After AddSagas, which sets up its own providers: every line of every category goes to the capture.
            builder.Logging.ClearProviders();
            builder.Logging.SetMinimumLevel(LogLevel.Trace);
            builder.Logging.AddProvider(_logs);
            if (api)
            {
                // What the API host adds for scan sessions (ScanSessionsModule.AddApi).
                builder.Services.AddScanSessions(builder.Configuration, builder.Environment.ContentRootPath);
                builder.Services.AddValidatedOptions<ScanSessionApiOptions>(builder.Configuration, ScanSessionApiOptions.SectionName);
                builder.Services.AddScoped<ScanSessionStarter>();
            }

            builder.Services.Configure<MassTransitHostOptions>(options => options.WaitUntilStarted = true);
            return builder.Build();
        }
    }

    public sealed class SecretSpecEventLog
    {
        public ConcurrentQueue<object> Events { get; } = new();
    }

    public sealed class SecretSpecEvents(SecretSpecEventLog log) : IConsumer<ScanMatchFound>, IConsumer<ScanProgressed>, IConsumer<ScanSessionCompleted>, IConsumer<ScanSessionFailed>
    {
        public Task Consume(ConsumeContext<ScanMatchFound> context) => Record(context.Message);

        public Task Consume(ConsumeContext<ScanProgressed> context) => Record(context.Message);

        public Task Consume(ConsumeContext<ScanSessionCompleted> context) => Record(context.Message);

        public Task Consume(ConsumeContext<ScanSessionFailed> context) => Record(context.Message);

        private Task Record(object message)
        {
            log.Events.Enqueue(message);
            return Task.CompletedTask;
        }
    }

    /// <summary>The raw body and transport headers of every message a process receives, on any endpoint.</summary>
    private sealed class BodyCapture : IReceiveObserver
    {
        public ConcurrentQueue<string> Bodies { get; } = new();

        public Task PreReceive(ReceiveContext context)
        {
            var headers = string.Join("\n", context.TransportHeaders.GetAll().Select(h => $"{h.Key}={h.Value}"));
            Bodies.Enqueue(context.Body.GetString() + "\n" + headers);
            return Task.CompletedTask;
        }

        public Task PostReceive(ReceiveContext context) => Task.CompletedTask;

        public Task PostConsume<T>(ConsumeContext<T> context, TimeSpan duration, string consumerType)
            where T : class => Task.CompletedTask;

        public Task ConsumeFault<T>(ConsumeContext<T> context, TimeSpan duration, string consumerType, Exception exception)
            where T : class => Task.CompletedTask;

        public Task ReceiveFault(ReceiveContext context, Exception exception) => Task.CompletedTask;
    }

    /// <summary>Every log line with its category, structured values and exception, and every scope opened.</summary>
    private sealed class CapturedLines : ILoggerProvider
    {
        public ConcurrentQueue<string> Lines { get; } = new();

        public ILogger CreateLogger(string categoryName) => new Logger(categoryName, Lines);

        public void Dispose()
        {
        }

        private sealed class Logger(string category, ConcurrentQueue<string> lines) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull
            {
                lines.Enqueue($"{category} scope: {state}");
                return null;
            }

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                var values = state is IEnumerable<KeyValuePair<string, object?>> pairs ? string.Join(" ", pairs.Select(p => $"{p.Key}={p.Value}")) : "";
                lines.Enqueue($"{logLevel} {category}: {formatter(state, exception)} {values} {exception}");
            }
        }
    }
}
