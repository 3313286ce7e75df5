using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.ChangeTracking;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Sagas.Messaging.SagaRepository;

namespace Sagas.PromptAnalyses.StateMachines;

internal sealed class PromptAnalysisStateMap : SagaStateMap<PromptAnalysisState>
{
    protected override void ConfigureState(EntityTypeBuilder<PromptAnalysisState> builder)
    {
        builder.ToTable("prompt_analysis_sagas");
        builder.Property(x => x.CurrentState).HasMaxLength(32);
        builder.Property(x => x.ParkedPlatforms).HasMaxLength(200);
        builder.Property(x => x.PausedReason).HasMaxLength(1000);
        // Retention finds finished instances by their end.
        builder.HasIndex(x => x.FinishedAt);
        // Four platform names at most: JSON text fits the column and reads plainly in a query.
        builder.Property(x => x.Platforms).HasMaxLength(200).HasConversion(
            platforms => JsonSerializer.Serialize(platforms, (JsonSerializerOptions?)null),
            json => JsonSerializer.Deserialize<List<string>>(json, (JsonSerializerOptions?)null) ?? new List<string>(),
            new ValueComparer<List<string>>(
                (a, b) => a!.SequenceEqual(b!),
                platforms => platforms.Aggregate(0, (hash, name) => HashCode.Combine(hash, name)),
                platforms => platforms.ToList()));
        builder.Property(x => x.AnsweredPlatforms).HasMaxLength(200).HasConversion(
            answers => JsonSerializer.Serialize(answers, (JsonSerializerOptions?)null),
            json => new Dictionary<string, bool>(JsonSerializer.Deserialize<Dictionary<string, bool>>(json, (JsonSerializerOptions?)null) ?? new Dictionary<string, bool>(), StringComparer.Ordinal),
            new ValueComparer<Dictionary<string, bool>>(
                (a, b) => a!.Count == b!.Count && !a.Except(b).Any(),
                answers => answers.Aggregate(0, (hash, answer) => HashCode.Combine(hash, answer.Key, answer.Value)),
                answers => new Dictionary<string, bool>(answers, StringComparer.Ordinal)));
    }
}
