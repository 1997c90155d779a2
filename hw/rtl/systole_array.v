// Systole: ROWS x COLS grid of systole_pe with the exact engine's skewed injection
// (Verilog-2005, synthesizable). One `en` cycle is one cycle of simulator/src/exact/mod.rs.
//
// Inputs each cycle (zero when nothing enters; the fold controller masks them):
//   h_vec  ROWS operands for the left edge, element r = bits [r*IN_W +: IN_W]. Row r receives
//          element r after r cycles of delay (skew), so a whole vector enters at once.
//   v_vec  COLS operands for the top edge, element c = bits [c*W_W +: W_W].
//          DATAFLOW 0 (WS): the stationary row entering the top; it shifts down while `load`.
//          DATAFLOW 1 (OS): B row t; column c receives it after c cycles of delay (skew).
//   vld    h_vec carries a real vector (WS: one whose partial sums leave the bottom).
//   last   h_vec carries the last vector of the fold.
//   load   WS: shift the stationary tile down one row.   clr: OS: accumulators start at 0.
// Outputs:
//   y      WS: the bottom row's partial sums (column c = bits [c*ACC_W +: ACC_W]);
//   y_vld  WS: column c holds a finished sum (high for exactly one clock after its `en` cycle).
//   p_all  every PE's p register (OS: the accumulators), PE (r, c) at [(r*COLS+c)*ACC_W +: ACC_W].
//   last_out  high (combinationally, from registers) during the `en` cycle in which the last
//          vector reaches the bottom-right PE: WS its last sum leaves, OS its last MAC runs.
module systole_array #(
    parameter ROWS = 4,
    parameter COLS = 4,
    parameter DATAFLOW = 0,
    parameter IN_W = 8,
    parameter W_W = 8,
    parameter ACC_W = 32
) (
    input  wire                        clk,
    input  wire                        rst,
    input  wire                        en,
    input  wire                        a_signed,
    input  wire                        load,
    input  wire                        clr,
    input  wire [ROWS*IN_W-1:0]        h_vec,
    input  wire [COLS*W_W-1:0]         v_vec,
    input  wire                        vld,
    input  wire                        last,
    output wire [COLS*ACC_W-1:0]       y,
    output wire [COLS-1:0]             y_vld,
    output wire [ROWS*COLS*ACC_W-1:0]  p_all,
    output wire                        last_out
);
    // Nets between PEs: h[r][c] enters PE (r, c) from the left (c = COLS leaves the array),
    // v[r][c] enters PE (r, c) from above (r = ROWS leaves), p likewise.
    // (The right column of h and the bottom row of v leave the array unused.)
    // Every PE's outputs are wires of their own (g_row[r].g_col[c].{ho, vo, po}) rather than
    // slices of one grid-wide vector: a simulator that treats a vector as one value (Icarus)
    // would otherwise re-evaluate every PE's inputs whenever any PE's output changes.
    genvar r, c;
    generate
        for (r = 0; r < ROWS; r = r + 1) begin : g_left
            wire [IN_W-1:0] hl;  // what enters row r at the left edge
            if (r == 0) begin : g_direct
                assign hl = h_vec[0 +: IN_W];
            end else begin : g_delay
                reg  [r*IN_W-1:0]     d;  // newest in the low bits
                /* verilator lint_off UNUSEDSIGNAL */
                wire [(r+1)*IN_W-1:0] d_nx = {d, h_vec[r*IN_W +: IN_W]};
                /* verilator lint_on UNUSEDSIGNAL */
                always @(posedge clk) begin
                    if (rst) d <= {(r*IN_W){1'b0}};
                    else if (en) d <= d_nx[r*IN_W-1:0];
                end
                assign hl = d[(r-1)*IN_W +: IN_W];
            end
        end
        for (c = 0; c < COLS; c = c + 1) begin : g_top
            wire [W_W-1:0] vt;  // what enters column c at the top edge
            if (DATAFLOW == 0 || c == 0) begin : g_direct
                assign vt = v_vec[c*W_W +: W_W];
            end else begin : g_delay
                reg  [c*W_W-1:0]     d;
                /* verilator lint_off UNUSEDSIGNAL */
                wire [(c+1)*W_W-1:0] d_nx = {d, v_vec[c*W_W +: W_W]};
                /* verilator lint_on UNUSEDSIGNAL */
                always @(posedge clk) begin
                    if (rst) d <= {(c*W_W){1'b0}};
                    else if (en) d <= d_nx[c*W_W-1:0];
                end
                assign vt = d[(c-1)*W_W +: W_W];
            end
        end
        for (r = 0; r < ROWS; r = r + 1) begin : g_row
            for (c = 0; c < COLS; c = c + 1) begin : g_col
                wire [IN_W-1:0]  hi, ho;
                wire [W_W-1:0]   vi, vo;
                wire [ACC_W-1:0] pi, po;
                if (c == 0) begin : g_hl
                    assign hi = g_left[r].hl;
                end else begin : g_hn
                    assign hi = g_row[r].g_col[c-1].ho;
                end
                if (r == 0) begin : g_vt
                    assign vi = g_top[c].vt;
                    assign pi = {ACC_W{1'b0}};
                end else begin : g_vn
                    assign vi = g_row[r-1].g_col[c].vo;
                    assign pi = g_row[r-1].g_col[c].po;
                end
                /* verilator lint_off UNUSEDSIGNAL */
                wire unused_edge = &{1'b0, ho, vo};  // right column's h, bottom row's v
                /* verilator lint_on UNUSEDSIGNAL */
                systole_pe #(
                    .DATAFLOW(DATAFLOW), .IN_W(IN_W), .W_W(W_W), .ACC_W(ACC_W)
                ) pe (
                    .clk(clk), .rst(rst), .en(en), .a_signed(a_signed), .load(load), .clr(clr),
                    .h_in(hi), .h_out(ho), .v_in(vi), .v_out(vo), .p_in(pi), .p_out(po)
                );
                assign p_all[(r*COLS+c)*ACC_W +: ACC_W] = po;
            end
        end
        for (c = 0; c < COLS; c = c + 1) begin : g_y
            assign y[c*ACC_W +: ACC_W] = g_row[ROWS-1].g_col[c].po;
        end
    endgenerate

    wire vld_d, last_d;
    generate
        if (ROWS == 1) begin : g_tag_direct
            assign vld_d = vld;
            assign last_d = last;
        end else begin : g_tag_delay
            reg  [ROWS-2:0] dv, dl;
            /* verilator lint_off UNUSEDSIGNAL */
            wire [ROWS-1:0] dv_nx = {dv, vld};  // the top bit leaves
            wire [ROWS-1:0] dl_nx = {dl, last};
            /* verilator lint_on UNUSEDSIGNAL */
            always @(posedge clk) begin
                if (rst) begin
                    dv <= {(ROWS-1){1'b0}};
                    dl <= {(ROWS-1){1'b0}};
                end else if (en) begin
                    dv <= dv_nx[ROWS-2:0];
                    dl <= dl_nx[ROWS-2:0];
                end
            end
            assign vld_d = dv[ROWS-2];
            assign last_d = dl[ROWS-2];
        end
    endgenerate
    reg  [COLS-1:0] bv, bl;
    /* verilator lint_off UNUSEDSIGNAL */
    wire [COLS:0]   bv_nx = {bv, vld_d};  // the top bit leaves the array
    wire [COLS:0]   bl_nx = {bl, last_d};
    /* verilator lint_on UNUSEDSIGNAL */
    wire [COLS-1:0] bl_in = bl_nx[COLS-1:0];  // the tag entering each bottom-row PE
    reg en_q;
    always @(posedge clk) begin
        if (rst) begin
            bv <= {COLS{1'b0}};
            bl <= {COLS{1'b0}};
            en_q <= 1'b0;
        end else begin
            en_q <= en;
            if (en) begin
                bv <= bv_nx[COLS-1:0];
                bl <= bl_in;
            end
        end
    end
    assign y_vld = bv & {COLS{en_q}};
    assign last_out = en & bl_in[COLS-1];
endmodule
