using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Sagas.Persistence.Migrations
{
    /// <inheritdoc />
    public partial class ScanSessions : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "scan_session_sagas",
                columns: table => new
                {
                    correlation_id = table.Column<Guid>(type: "uuid", nullable: false),
                    current_state = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: false),
                    version = table.Column<int>(type: "integer", nullable: false),
                    total_files = table.Column<int>(type: "integer", nullable: true),
                    total_processed = table.Column<int>(type: "integer", nullable: true),
                    total_matches = table.Column<int>(type: "integer", nullable: true),
                    report_blob_key = table.Column<string>(type: "character varying(1024)", maxLength: 1024, nullable: true),
                    failure_reason = table.Column<string>(type: "character varying(2000)", maxLength: 2000, nullable: true),
                    started_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    finished_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_scan_session_sagas", x => x.correlation_id);
                });

            migrationBuilder.CreateTable(
                name: "scan_sessions",
                columns: table => new
                {
                    id = table.Column<Guid>(type: "uuid", nullable: false),
                    status = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    revision = table.Column<long>(type: "bigint", nullable: false),
                    total_files = table.Column<int>(type: "integer", nullable: true),
                    processed_files = table.Column<int>(type: "integer", nullable: false),
                    matched_files = table.Column<int>(type: "integer", nullable: false),
                    total_matches = table.Column<int>(type: "integer", nullable: false),
                    error_files = table.Column<int>(type: "integer", nullable: false),
                    codes_json = table.Column<string>(type: "text", nullable: false),
                    uploads_json = table.Column<string>(type: "text", nullable: false),
                    source_description = table.Column<string>(type: "character varying(1000)", maxLength: 1000, nullable: false),
                    requested_by = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: true),
                    report_blob_key = table.Column<string>(type: "character varying(1024)", maxLength: 1024, nullable: true),
                    error = table.Column<string>(type: "character varying(2000)", maxLength: 2000, nullable: true),
                    last_progress_percent = table.Column<int>(type: "integer", nullable: false),
                    last_progress_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    created_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    dispatched_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    completed_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_scan_sessions", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "scan_file_results",
                columns: table => new
                {
                    session_id = table.Column<Guid>(type: "uuid", nullable: false),
                    file_index = table.Column<int>(type: "integer", nullable: false),
                    name = table.Column<string>(type: "character varying(1024)", maxLength: 1024, nullable: false),
                    kind = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    locator = table.Column<string>(type: "character varying(4096)", maxLength: 4096, nullable: false),
                    link = table.Column<string>(type: "character varying(4096)", maxLength: 4096, nullable: true),
                    status = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    matched_codes_json = table.Column<string>(type: "text", nullable: false),
                    match_count = table.Column<int>(type: "integer", nullable: false),
                    error = table.Column<string>(type: "character varying(2000)", maxLength: 2000, nullable: true),
                    processed_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("pk_scan_file_results", x => new { x.session_id, x.file_index });
                    table.ForeignKey(
                        name: "fk_scan_file_results_scan_session_session_id",
                        column: x => x.session_id,
                        principalTable: "scan_sessions",
                        principalColumn: "id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "ix_scan_sessions_created_at",
                table: "scan_sessions",
                column: "created_at");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "scan_file_results");

            migrationBuilder.DropTable(
                name: "scan_session_sagas");

            migrationBuilder.DropTable(
                name: "scan_sessions");
        }
    }
}
