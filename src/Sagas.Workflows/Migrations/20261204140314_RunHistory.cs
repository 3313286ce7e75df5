using System;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace Sagas.Workflows.Migrations
{
    /// <inheritdoc />
    public partial class RunHistory : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "saga_history",
                columns: table => new
                {
                    id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    saga = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    correlation_id = table.Column<Guid>(type: "uuid", nullable: false),
                    sequence = table.Column<int>(type: "integer", nullable: true),
                    kind = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    @event = table.Column<string>(name: "event", type: "character varying(200)", maxLength: 200, nullable: false),
                    message_type = table.Column<string>(type: "character varying(500)", maxLength: 500, nullable: true),
                    message_id = table.Column<Guid>(type: "uuid", nullable: true),
                    state_before = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: true),
                    state_after = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: true),
                    at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    fault_type = table.Column<string>(type: "character varying(500)", maxLength: 500, nullable: true),
                    fault_message = table.Column<string>(type: "character varying(2000)", maxLength: 2000, nullable: true),
                    attempts = table.Column<int>(type: "integer", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_saga_history", x => x.id);
                });

            migrationBuilder.CreateIndex(
                name: "ix_llm_jobs_status_created_at",
                table: "llm_jobs",
                columns: new[] { "status", "created_at" });

            migrationBuilder.CreateIndex(
                name: "ix_analysis_jobs_created_at",
                table: "analysis_jobs",
                column: "created_at");

            migrationBuilder.CreateIndex(
                name: "ix_analysis_jobs_project_id_created_at",
                table: "analysis_jobs",
                columns: new[] { "project_id", "created_at" });

            migrationBuilder.CreateIndex(
                name: "ix_saga_history_at",
                table: "saga_history",
                column: "at");

            migrationBuilder.CreateIndex(
                name: "ix_saga_history_correlation_id_message_id_kind_event",
                table: "saga_history",
                columns: new[] { "correlation_id", "message_id", "kind", "event" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "ix_saga_history_correlation_id_sequence",
                table: "saga_history",
                columns: new[] { "correlation_id", "sequence" },
                unique: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "saga_history");

            migrationBuilder.DropIndex(
                name: "ix_llm_jobs_status_created_at",
                table: "llm_jobs");

            migrationBuilder.DropIndex(
                name: "ix_analysis_jobs_created_at",
                table: "analysis_jobs");

            migrationBuilder.DropIndex(
                name: "ix_analysis_jobs_project_id_created_at",
                table: "analysis_jobs");
        }
    }
}
