using System.Globalization;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Sagas.Modules.Usage.Budgets;

/// <summary>
/// A spending limit in USD on one scope of model calls: a run of a workflow, or a project on one UTC day. Calls reserve
/// their estimated cost in <see cref="Reserved"/> before they are made and move their actual cost to <see cref="Spent"/>
/// when their usage is recorded, so <see cref="Spent"/> + <see cref="Reserved"/> never passes <see cref="LimitUsd"/>
/// through a reservation. A scope without a row has no limit.
/// </summary>
public class Budget
{
    public const string TableName = "budgets";

    /// <summary>See <see cref="BudgetScope"/>: <c>run:{workflow}:{run}</c> or <c>project-day:{project}:{yyyy-MM-dd}</c>.</summary>
    public string Id { get; set; } = "";

    /// <summary><see cref="BudgetScope.RunKind"/> or <see cref="BudgetScope.ProjectDayKind"/>.</summary>
    public string Kind { get; set; } = "";

    public string? Workflow { get; set; }

    public Guid? RunId { get; set; }

    public Guid? ProjectId { get; set; }

    public DateOnly? Day { get; set; }

    public decimal LimitUsd { get; set; }

    public decimal Reserved { get; set; }

    public decimal Spent { get; set; }

    /// <summary>When a reservation was last refused on this scope; cleared when the limit is raised.</summary>
    public DateTimeOffset? PausedAt { get; set; }

    public string? PausedReason { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }

    public bool IsPaused => PausedAt is not null;
}

/// <summary>
/// The estimate one model call reserved, keyed like its usage row, so that a redelivered consumer finds its own
/// reservation instead of reserving twice, and the usage ledger settles it exactly once.
/// </summary>
public class BudgetReservation
{
    public const string TableName = "budget_reservations";

    public string IdempotencyKey { get; set; } = "";

    /// <summary>The budgets the amount was added to, space-separated (empty when no scope had a budget).</summary>
    public string BudgetIds { get; set; } = "";

    public decimal Amount { get; set; }

    /// <summary><see cref="BudgetReservationState"/>.</summary>
    public string State { get; set; } = BudgetReservationState.Reserved;

    public DateTimeOffset ReservedAt { get; set; }

    /// <summary>A reservation still held after this (its consumer crashed before the call's result came back) lapses.</summary>
    public DateTimeOffset ExpiresAt { get; set; }

    public DateTimeOffset? ClosedAt { get; set; }

    public IEnumerable<string> Budgets => BudgetIds.Split(' ', StringSplitOptions.RemoveEmptyEntries);
}

public static class BudgetReservationState
{
    public const string Reserved = "reserved";

    /// <summary>The call's usage was recorded: its estimate left <see cref="Budget.Reserved"/>, its cost went to <see cref="Budget.Spent"/>.</summary>
    public const string Settled = "settled";

    /// <summary>The call was not made or failed without usage.</summary>
    public const string Released = "released";

    /// <summary>Held past its lease and given back; a late result still adds its cost to the spend.</summary>
    public const string Lapsed = "lapsed";
}

/// <summary>The budget ids of the scopes a model call belongs to; built from what the usage row records, so the reserving and the settling side agree.</summary>
public static class BudgetScope
{
    public const string RunKind = "run";

    public const string ProjectDayKind = "project-day";

    public static string Run(string workflow, Guid runId) => $"{RunKind}:{workflow}:{runId:N}";

    public static string ProjectDay(Guid projectId, DateOnly day) =>
        $"{ProjectDayKind}:{projectId:N}:{day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)}";

    /// <summary>Every scope of a call: its run, and its project on the call's UTC day.</summary>
    public static IReadOnlyList<string> Of(string workflow, Guid? runId, Guid? projectId, DateOnly day)
    {
        var scopes = new List<string>(2);
        if (runId is { } run)
            scopes.Add(Run(workflow, run));
        if (projectId is { } project)
            scopes.Add(ProjectDay(project, day));
        return scopes;
    }
}

internal sealed class BudgetMapping : IEntityTypeConfiguration<Budget>
{
    public void Configure(EntityTypeBuilder<Budget> builder)
    {
        builder.ToTable(Budget.TableName);
        builder.HasKey(x => x.Id);
        builder.Property(x => x.Id).HasMaxLength(128);
        builder.Property(x => x.Kind).HasMaxLength(16);
        builder.Property(x => x.Workflow).HasMaxLength(64);
        builder.Property(x => x.LimitUsd).HasPrecision(18, 8);
        builder.Property(x => x.Reserved).HasPrecision(18, 8);
        builder.Property(x => x.Spent).HasPrecision(18, 8);
        builder.Property(x => x.PausedReason).HasMaxLength(1000);
        builder.Ignore(x => x.IsPaused);
        // Retention deletes rows nobody touched for the period.
        builder.HasIndex(x => x.UpdatedAt);
    }
}

internal sealed class BudgetReservationMapping : IEntityTypeConfiguration<BudgetReservation>
{
    public void Configure(EntityTypeBuilder<BudgetReservation> builder)
    {
        builder.ToTable(BudgetReservation.TableName);
        builder.HasKey(x => x.IdempotencyKey);
        builder.Property(x => x.IdempotencyKey).HasMaxLength(300);
        builder.Property(x => x.BudgetIds).HasMaxLength(400);
        builder.Property(x => x.Amount).HasPrecision(18, 8);
        builder.Property(x => x.State).HasMaxLength(16);
        builder.Ignore(x => x.Budgets);
        // The lapse sweep looks for held reservations past their lease.
        builder.HasIndex(x => new { x.State, x.ExpiresAt });
    }
}
