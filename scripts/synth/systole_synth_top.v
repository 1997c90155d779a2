// Synthesis-only wrapper for scripts/rtl-synth.sh: one weight-stationary fold controller and
// array (hw/rtl/systole_fold.v) with its two operand memories, so that Yosys sees what a
// build instantiates per array: PEs, skew registers, the controller and block-RAM buffers.
// The memories are simple dual-port (one write port for the DMA, one synchronous read port
// for the array), DEPTH words of one array edge each, as hw/src/cost/fpga.rs sizes them.
module systole_synth_top #(
    parameter ROWS = 4,
    parameter COLS = 4,
    parameter IN_W = 8,
    parameter W_W = 8,
    parameter ACC_W = 32,
    parameter DEPTH = 512,
    parameter AW = 9
) (
    input  wire                  clk,
    input  wire                  rst,
    input  wire                  start,
    input  wire [15:0]           t_len,
    input  wire                  a_signed,
    input  wire                  h_we,
    input  wire [AW-1:0]         h_wa,
    input  wire [ROWS*IN_W-1:0]  h_wd,
    input  wire                  v_we,
    input  wire [AW-1:0]         v_wa,
    input  wire [COLS*W_W-1:0]   v_wd,
    output wire                  busy,
    output wire                  done,
    output wire [COLS*ACC_W-1:0] y,
    output wire [COLS-1:0]       y_vld
);
    reg [ROWS*IN_W-1:0] h_mem [0:DEPTH-1];
    reg [COLS*W_W-1:0]  v_mem [0:DEPTH-1];
    reg [ROWS*IN_W-1:0] h_data;
    reg [COLS*W_W-1:0]  v_data;
    wire h_rd, v_rd;
    wire [15:0] h_addr, v_addr;
    always @(posedge clk) begin
        if (h_we) h_mem[h_wa] <= h_wd;
        if (h_rd) h_data <= h_mem[h_addr[AW-1:0]];
    end
    always @(posedge clk) begin
        if (v_we) v_mem[v_wa] <= v_wd;
        if (v_rd) v_data <= v_mem[v_addr[AW-1:0]];
    end
    /* verilator lint_off UNUSEDSIGNAL */
    wire [ROWS*COLS*ACC_W-1:0] acc_unused;
    /* verilator lint_on UNUSEDSIGNAL */
    systole_fold #(
        .ROWS(ROWS), .COLS(COLS), .DATAFLOW(0), .IN_W(IN_W), .W_W(W_W), .ACC_W(ACC_W)
    ) fold (
        .clk(clk), .rst(rst), .start(start), .t_len(t_len), .a_signed(a_signed),
        .busy(busy), .done(done),
        .h_rd(h_rd), .h_addr(h_addr), .h_data(h_data),
        .v_rd(v_rd), .v_addr(v_addr), .v_data(v_data),
        .y(y), .y_vld(y_vld), .acc(acc_unused)
    );
endmodule
