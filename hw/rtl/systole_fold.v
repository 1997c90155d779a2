// Systole: one fold on the array (Verilog-2005, synthesizable): a `start` pulse, the fold
// length `t_len`, operand reads from synchronous memories, a `done` pulse.
//
// Cycle convention (docs/rtl.md): `start` is sampled high at rising edge S. Array cycle i of the
// exact engine (simulator/src/exact/mod.rs) happens at edge S+1+i; the operands it uses are read
// at edge S+i (one cycle of memory latency, overlapped with the start edge). `done` is high
// during the last array cycle, so it is sampled high at edge S+N where N is the engine's
// cycle count for the fold: WS/IS 2R+C+T-2, OS T+R+C-2. A new `start` may be sampled at the
// same edge as `done` (back to back); `start` while busy otherwise is not allowed.
//
// Memories (provided outside; read data must appear one cycle after a read, like a block RAM):
//   DATAFLOW 0 (WS; IS with the roles swapped):
//     v_rd/v_addr -> v_data: row v_addr (0..ROWS-1) of the stationary tile, COLS elements;
//                  the rows are read bottom row first (the tile shifts in from the top).
//     h_rd/h_addr -> h_data: streamed vector t = h_addr (0..T-1), ROWS elements.
//   DATAFLOW 1 (OS):
//     h_rd/h_addr -> h_data: column t of the A block (ROWS elements: A[0..ROWS-1][t]).
//     v_rd/v_addr -> v_data: row t of the B block (COLS elements: B[t][0..COLS-1]).
//   Element e of a vector is bits [e*IN_W +: IN_W] (h) or [e*W_W +: W_W] (v). Unused rows and
//   columns must read as zero (the engine pads with zeros).
// Outputs:
//   WS: y/y_vld: the sum for (t, c) is on y[c*ACC_W +: ACC_W] with y_vld[c] high during the
//       clock after array cycle 2R-1+t+c; the k-th valid sum of a column is t = k.
//   OS: acc: the accumulators, PE (r, c) at [(r*COLS+c)*ACC_W +: ACC_W], final after `done`'s
//       edge and held until the first array cycle of the next fold.
module systole_fold #(
    parameter ROWS = 4,
    parameter COLS = 4,
    parameter DATAFLOW = 0,
    parameter IN_W = 8,
    parameter W_W = 8,
    parameter ACC_W = 32,
    parameter T_W = 16  // width of t_len and of the stream addresses
) (
    input  wire                       clk,
    input  wire                       rst,
    input  wire                       start,
    input  wire [T_W-1:0]             t_len,     // T >= 1, held while busy
    input  wire                       a_signed,  // the h operand is signed (1) or unsigned (0)
    output wire                       busy,
    output wire                       done,
    output wire                       h_rd,
    output wire [T_W-1:0]             h_addr,
    input  wire [ROWS*IN_W-1:0]       h_data,
    output wire                       v_rd,
    output wire [T_W-1:0]             v_addr,
    input  wire [COLS*W_W-1:0]        v_data,
    output wire [COLS*ACC_W-1:0]      y,
    output wire [COLS-1:0]            y_vld,
    output wire [ROWS*COLS*ACC_W-1:0] acc
);
    // The cycle counter: array cycles plus one, so CW bits count past 2R + C + T.
    localparam CW = T_W + 2 + $clog2(2 * ROWS + COLS + 1);
    localparam [31:0] ROWS32 = ROWS;
    localparam [CW-1:0] R_C = ROWS32[CW-1:0];

    reg          run;
    reg [CW-1:0] cnt;  // before edge S+i: i (the array cycle i-1 runs at that edge)
    wire         go = start | run;
    wire [CW-1:0] rd = start ? {CW{1'b0}} : cnt;  // array cycle whose operands are read now
    wire [CW-1:0] t_ext = {{(CW - T_W){1'b0}}, t_len};
    wire [CW-1:0] t_idx;  // stream index of cycle rd (meaningful when in range)
    wire         h_go, v_go;
    /* verilator lint_off UNUSEDSIGNAL */
    wire [CW-1:0] v_row;
    /* verilator lint_on UNUSEDSIGNAL */

    generate
        if (DATAFLOW == 0) begin : g_ws
            // Cycles 0..R-1: stationary rows R-1..0; cycles R..R+T-1: vectors 0..T-1.
            assign t_idx = rd - R_C;
            assign v_go = go && (rd < R_C);
            assign h_go = go && (rd >= R_C) && (t_idx < t_ext);
            assign v_row = R_C - 1'b1 - rd;
        end else begin : g_os
            assign t_idx = rd;
            assign v_go = go && (rd < t_ext);
            assign h_go = v_go;
            assign v_row = rd;
        end
    endgenerate

    assign h_rd = h_go;
    assign v_rd = v_go;
    assign h_addr = t_idx[T_W-1:0];
    assign v_addr = v_row[T_W-1:0];

    // The read stage: what the data arriving next cycle is.
    reg h_q, v_q, last_q, first_q;
    always @(posedge clk) begin
        if (rst) begin
            run <= 1'b0;
            cnt <= {CW{1'b0}};
            h_q <= 1'b0;
            v_q <= 1'b0;
            last_q <= 1'b0;
            first_q <= 1'b0;
        end else begin
            h_q <= h_go;
            v_q <= v_go;
            last_q <= h_go && (t_idx == t_ext - 1'b1);
            first_q <= start;
            if (start) begin
                run <= 1'b1;
                cnt <= {{(CW - 1){1'b0}}, 1'b1};
            end else if (run) begin
                if (done) run <= 1'b0;
                cnt <= cnt + 1'b1;
            end
        end
    end

    wire [ROWS*IN_W-1:0] h_vec = h_q ? h_data : {(ROWS * IN_W) {1'b0}};
    wire [COLS*W_W-1:0] v_vec = v_q ? v_data : {(COLS * W_W) {1'b0}};
    wire [COLS*ACC_W-1:0] y_arr;
    wire [COLS-1:0] y_vld_arr;
    wire [ROWS*COLS*ACC_W-1:0] p_all;

    systole_array #(
        .ROWS(ROWS), .COLS(COLS), .DATAFLOW(DATAFLOW), .IN_W(IN_W), .W_W(W_W), .ACC_W(ACC_W)
    ) array (
        .clk(clk), .rst(rst), .en(run), .a_signed(a_signed),
        .load(v_q), .clr(first_q),
        .h_vec(h_vec), .v_vec(v_vec), .vld(h_q), .last(last_q),
        .y(y_arr), .y_vld(y_vld_arr), .p_all(p_all), .last_out(done)
    );

    assign busy = run;
    generate
        if (DATAFLOW == 0) begin : g_out_ws
            assign y = y_arr;
            assign y_vld = y_vld_arr;
            assign acc = {(ROWS * COLS * ACC_W) {1'b0}};
            wire unused_ws = &{1'b0, p_all};
        end else begin : g_out_os
            assign y = {(COLS * ACC_W) {1'b0}};
            assign y_vld = {COLS{1'b0}};
            assign acc = p_all;
            wire unused_os = &{1'b0, y_arr, y_vld_arr};
        end
    endgenerate
endmodule
