using System.Text;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Sagas.Hosting;
using Sagas.Messaging.FailedMessages;
using Sagas.Messaging.Scheduling.Recurring;
using Sagas.Persistence;
using Sagas.Workflows;

namespace Sagas.Components.Tests.Retention;

/// <summary>
/// The embedded default (in-memory transport, SQLite, every role in one process) declares the recurring
/// <c>retention</c> schedule and runs it: what is due disappears without anyone asking, what is not stays.
/// </summary>
public sealed class When_the_embedded_default_runs_its_retention_schedule : IAsyncLifetime
{
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "sagas-retention-tests-" + Guid.NewGuid().ToString("N"));
    private IHost? _host;

    public async Task InitializeAsync()
    {
        // The blob store's folder and signing key live under the content root: a folder of this test's own.
        Directory.CreateDirectory(_dataDirectory);
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Development", DisableDefaults = true, ContentRootPath = _dataDirectory });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Database:DataDirectory"] = _dataDirectory,
            ["Scheduling:Schedules:retention:Cron"] = "* * * * * ?",
            ["Logging:LogLevel:Default"] = "Warning",
        });
        builder.AddSagas("retention-tests", SagasWorkflows.Catalog);
        _host = builder.Build();
        await _host.StartAsync();
    }

    [Fact]
    public async Task Should_delete_what_is_due_on_its_own_and_keep_the_rest()
    {
        var old = Guid.NewGuid();
        var recent = Guid.NewGuid();
        await using (var scope = _host!.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<SagasDbContext>();
            db.AddRange(FailedMessage(old, DateTimeOffset.UtcNow.AddDays(-31)), FailedMessage(recent, DateTimeOffset.UtcNow.AddDays(-1)));
            await db.SaveChangesAsync();
        }

        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (await ExistsAsync(old))
        {
            Assert.True(DateTime.UtcNow < deadline, "the failed message 31 days old was still there after 15 s of a retention schedule firing every second");
            await Task.Delay(100);
        }

        Assert.True(await ExistsAsync(recent));
        var schedules = await _host.Services.GetRequiredService<IRecurringScheduleService>().ListAsync(CancellationToken.None);
        Assert.Contains(schedules, s => s.Name == "retention");
    }

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.StopAsync();
            _host.Dispose();
        }

        if (Directory.Exists(_dataDirectory))
            Directory.Delete(_dataDirectory, recursive: true);
    }

    private async Task<bool> ExistsAsync(Guid id)
    {
        await using var scope = _host!.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<SagasDbContext>().Set<FailedMessage>().AnyAsync(m => m.Id == id);
    }

    private static FailedMessage FailedMessage(Guid id, DateTimeOffset faultedAt) => new()
    {
        Id = id,
        MessageId = Guid.NewGuid(),
        Queue = "retention-probe",
        ExceptionType = "System.InvalidOperationException",
        ExceptionMessage = "probe",
        FaultedAt = faultedAt,
        Body = Encoding.UTF8.GetBytes("{}"),
        ContentType = "application/json",
    };
}
