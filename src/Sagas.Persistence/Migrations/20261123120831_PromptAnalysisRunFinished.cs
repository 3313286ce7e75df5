using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Sagas.Persistence.Migrations
{
    /// <inheritdoc />
    public partial class PromptAnalysisRunFinished : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<int>(
                name: "completed_analyses",
                table: "analysis_runs",
                type: "integer",
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "failed_analyses",
                table: "analysis_runs",
                type: "integer",
                nullable: true);

            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "finished_at",
                table: "analysis_runs",
                type: "timestamp with time zone",
                nullable: true);

            // Runs that ended before this column existed read as finished (as the API derived them before), at their
            // last analysis's end; no event is sent for them.
            migrationBuilder.Sql("""
                UPDATE analysis_runs AS r
                SET finished_at = COALESCE((SELECT max(j.completed_at) FROM analysis_jobs AS j WHERE j.run_id = r.id), r.dispatched_at),
                    completed_analyses = (SELECT count(*) FROM analysis_jobs AS j WHERE j.run_id = r.id AND j.status = 'completed'),
                    failed_analyses = (SELECT count(*) FROM analysis_jobs AS j WHERE j.run_id = r.id AND j.status = 'failed')
                WHERE r.dispatched_at IS NOT NULL
                  AND (SELECT count(*) FROM analysis_jobs AS j WHERE j.run_id = r.id AND j.status IN ('completed', 'failed')) = r.total_analyses;
                """);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "completed_analyses",
                table: "analysis_runs");

            migrationBuilder.DropColumn(
                name: "failed_analyses",
                table: "analysis_runs");

            migrationBuilder.DropColumn(
                name: "finished_at",
                table: "analysis_runs");
        }
    }
}
