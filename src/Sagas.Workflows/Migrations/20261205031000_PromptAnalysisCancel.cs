using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Sagas.Workflows.Migrations
{
    /// <inheritdoc />
    public partial class PromptAnalysisCancel : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "cancel_requested_at",
                table: "analysis_runs",
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "cancelled_analyses",
                table: "analysis_runs",
                type: "integer",
                nullable: true);

            // Runs that finished before cancels existed had none: their count is known, not missing.
            migrationBuilder.Sql("UPDATE analysis_runs SET cancelled_analyses = 0 WHERE finished_at IS NOT NULL");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "cancel_requested_at",
                table: "analysis_runs");

            migrationBuilder.DropColumn(
                name: "cancelled_analyses",
                table: "analysis_runs");
        }
    }
}
