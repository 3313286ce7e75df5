using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging.Abstractions;
using Sagas.Messaging.Outbox;
using Sagas.Persistence;
using Sagas.PromptAnalyses;
using Sagas.PromptAnalyses.Data;
using Sagas.PromptAnalyses.Runs;
using Sagas.Workflows;

namespace Sagas.Components.Tests.PromptAnalyses;

/// <summary>A private in-memory SQLite database with the whole schema, and the workflow services over it.</summary>
public sealed class PromptAnalysisDatabase : IDisposable
{
    private readonly SqliteConnection _connection = new("Data Source=:memory:");

    public PromptAnalysisDatabase(PromptAnalysesOptions? options = null)
    {
        _connection.Open();
        Options = options ?? new PromptAnalysesOptions();
        using var db = NewContext();
        db.Database.EnsureCreated();
    }

    public PromptAnalysesOptions Options { get; }

    public SagasDbContext NewContext()
    {
        var builder = new DbContextOptionsBuilder<SagasDbContext>();
        PersistenceRegistration.Configure(builder, DatabaseProvider.Sqlite, "Data Source=:memory:", SagasWorkflows.Model);
        builder.UseSqlite(_connection);
        return new SagasDbContext(builder.Options);
    }

    public async Task<T> WithAsync<T>(Func<SagasDbContext, OutboxWriter, Task<T>> action)
    {
        await using var db = NewContext();
        using var signal = new OutboxSignal();
        return await action(db, new OutboxWriter(db, signal, new OutboxMessageTypes(SagasWorkflows.Catalog.Assemblies), TimeProvider.System));
    }

    public Task<StartedRun> StartScheduledAsync(DateTimeOffset slot) =>
        WithAsync((db, outbox) => new PromptAnalysisRunStarter(db, outbox, TimeProvider.System).StartScheduledAsync(slot, CancellationToken.None));

    public Task<StartedRun> StartOnDemandAsync(RunRequest request) =>
        WithAsync((db, outbox) => new PromptAnalysisRunStarter(db, outbox, TimeProvider.System).StartOnDemandAsync(request, CancellationToken.None));

    public Task<FanOutPage> DispatchPageAsync(Guid runId, Guid? after) =>
        WithAsync((db, outbox) => new PromptAnalysisFanOut(db, outbox, Options, TimeProvider.System).DispatchPageAsync(runId, after, CancellationToken.None));

    public Task<int> ClaimAsync() =>
        WithAsync((db, outbox) => new PromptAnalysisClaimer(db, outbox, Options, TimeProvider.System, NullLogger<PromptAnalysisClaimer>.Instance).ClaimAsync(CancellationToken.None));

    public Task<CancelOutcome> CancelAsync(Guid analysisId) =>
        WithAsync((db, outbox) => Claimer(db, outbox).CancelAsync(analysisId, "not needed", CancellationToken.None));

    public Task<int?> CancelRunAsync(Guid runId) =>
        WithAsync((db, outbox) => Claimer(db, outbox).CancelRunAsync(runId, "not needed", CancellationToken.None));

    public PromptAnalysisClaimer Claimer(SagasDbContext db, OutboxWriter outbox) =>
        new(db, outbox, Options, TimeProvider.System, NullLogger<PromptAnalysisClaimer>.Instance);

    /// <summary>The messages of type T the outbox holds (published or not).</summary>
    public async Task<List<T>> OutboxAsync<T>()
    {
        var bodies = await QueryAsync(db => db.Set<OutboxMessage>().Where(m => m.MessageType == typeof(T).FullName).Select(m => m.Body).ToListAsync());
        return [.. bodies.Select(body => System.Text.Json.JsonSerializer.Deserialize<T>(body, OutboxMessageTypes.JsonOptions)!)];
    }

    /// <summary>Runs the fan-out page after page, as the chain of DispatchPromptAnalysisRun messages would.</summary>
    public async Task<List<FanOutPage>> DispatchAllAsync(Guid runId)
    {
        var pages = new List<FanOutPage>();
        Guid? after = null;
        do
        {
            var page = await DispatchPageAsync(runId, after);
            pages.Add(page);
            after = page.NextAfter;
        }
        while (after is not null);
        return pages;
    }

    public async Task<AnalysisProject> AddProjectAsync(int activePrompts, int inactivePrompts = 0, params string[] platforms)
    {
        await using var db = NewContext();
        var now = DateTimeOffset.UtcNow;
        var project = new AnalysisProject { Id = Guid.NewGuid(), Name = "Acme", BrandNames = ["Acme"], Domains = ["acme.com"], CreatedAt = now, UpdatedAt = now };
        db.Add(project);
        for (var index = 0; index < activePrompts + inactivePrompts; index++)
        {
            db.Add(new TrackedPrompt
            {
                Id = Guid.NewGuid(),
                ProjectId = project.Id,
                Text = $"best anvil supplier #{index}",
                Active = index < activePrompts,
                Platforms = platforms.Length == 0 ? ["openai", "claude", "gemini", "perplexity"] : [.. platforms],
                CreatedAt = now,
                UpdatedAt = now,
            });
        }

        await db.SaveChangesAsync();
        return project;
    }

    public async Task<T> QueryAsync<T>(Func<SagasDbContext, Task<T>> query)
    {
        await using var db = NewContext();
        return await query(db);
    }

    public void Dispose() => _connection.Dispose();
}
