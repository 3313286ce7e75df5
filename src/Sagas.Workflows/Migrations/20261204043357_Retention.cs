using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Sagas.Workflows.Migrations
{
    /// <inheritdoc />
    public partial class Retention : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "source_deleted_at",
                table: "scan_sessions",
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.CreateIndex(
                name: "ix_scan_sessions_completed_at",
                table: "scan_sessions",
                column: "completed_at");

            migrationBuilder.CreateIndex(
                name: "ix_scan_session_sagas_finished_at",
                table: "scan_session_sagas",
                column: "finished_at");

            migrationBuilder.CreateIndex(
                name: "ix_prompt_analysis_sagas_finished_at",
                table: "prompt_analysis_sagas",
                column: "finished_at");

            migrationBuilder.CreateIndex(
                name: "ix_llm_jobs_finished_at",
                table: "llm_jobs",
                column: "finished_at");

            migrationBuilder.CreateIndex(
                name: "ix_llm_job_sagas_finished_at",
                table: "llm_job_sagas",
                column: "finished_at");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_scan_sessions_completed_at",
                table: "scan_sessions");

            migrationBuilder.DropIndex(
                name: "ix_scan_session_sagas_finished_at",
                table: "scan_session_sagas");

            migrationBuilder.DropIndex(
                name: "ix_prompt_analysis_sagas_finished_at",
                table: "prompt_analysis_sagas");

            migrationBuilder.DropIndex(
                name: "ix_llm_jobs_finished_at",
                table: "llm_jobs");

            migrationBuilder.DropIndex(
                name: "ix_llm_job_sagas_finished_at",
                table: "llm_job_sagas");

            migrationBuilder.DropColumn(
                name: "source_deleted_at",
                table: "scan_sessions");
        }
    }
}
