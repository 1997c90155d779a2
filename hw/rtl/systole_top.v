// Systole: the whole-program accelerator (Verilog-2005; synthesizable, with the ROM contents
// loaded by `$readmemh` from a generated include when SYSTOLE_INIT is defined).
//
// Include path: the BUILD_DIR (systole_params.vh, the geometry and the per-layer table
// LT_<FIELD>, compiler/src/backend/layer_table.rs). The DRAM is outside (hw/rtl/tb/top_tb.v):
// DRAM_BPC byte lanes to read (address out, data back in the same cycle) and to write.
//
// Four engines, each with its own scanner over the instruction ROM (systole_scan), run their
// instructions in program order (docs/isa.md, docs/rtl.md):
//   read DMA  LD_IFMAP (im2col gather from DRAM) and LD_FILTER (from the weight banks) into
//             the ifmap/filter buffers, slot j%2 when double-buffered;
//   array     FOLD on systole_fold, partial sums in the psum buffer, finished sums queued with
//             their DRAM address in the output queue;
//   write DMA STORE: pops the fold's finished sums, requantizes them (systole_requant) and writes
//             them to DRAM;
//   vector    VECTOR (MaxPool) and COPY (transpose): store and forward through its buffer.
// Timing (equal to simulator/src/timeline.rs): a transfer of b bytes occupies its channel for
// DRAM_LATENCY + ceil(b / DRAM_BPC) cycles, the beats being the last ceil(b / DRAM_BPC); the load
// of fold j waits for fold j-2 (double buffer) or j-1 (single) to end; fold j starts when fold
// j-1 ends and its loads are in; a store starts when its fold has ended and the write channel is
// free. A layer starts when every engine has finished every instruction of the layers before it.
module systole_top (
    clk, rst, start, ready, layers_done, finished, err,
    dr_addr, dr_data, dw_en, dw_addr, dw_data
);
    // Lint: the header's parameters serve every module, so most are unused here; clocked loops
    // use blocking temporaries (index arithmetic) on purpose; address temporaries are 32 bits
    // wide whatever the memory depth, and instruction words carry other opcodes' fields.
    /* verilator lint_off UNUSEDPARAM */
`include "systole_params.vh"
    /* verilator lint_on UNUSEDPARAM */
    /* verilator lint_off BLKSEQ */
    /* verilator lint_off UNUSEDSIGNAL */
    localparam R = ARRAY_ROWS;
    localparam C = ARRAY_COLS;
    localparam BPC = (DRAM_BPC > 0) ? DRAM_BPC : 1;
    localparam L = DRAM_LATENCY;
    localparam IAW = INSTR_ADDR_W;
    localparam FD = (DATAFLOW == 0) ? R : MAX_T;  // filter rows per slot
    localparam PSD = ((C * MAX_T) > (R * C)) ? (C * MAX_T) : (R * C);
    // The output queue holds a whole layer's outputs: stores may lag the folds without limit
    // (the timing model has no back-pressure), so it is sized for the worst case.
    localparam RING_AW = $clog2(MAX_OUT_ELEMS + 2 * R * C + 16);
    localparam RING = 1 << RING_AW;
    localparam NPUSH = (DATAFLOW == 0) ? C : R * C;

    input  wire                 clk;
    input  wire                 rst;
    input  wire                 start;       // cycle 0 of the program is the edge sampling it
    output wire                 ready;       // every scanner holds its first instruction
    output reg  [11:0]          layers_done; // layers 0..layers_done-1 have ended
    output wire                 finished;
    output reg  [7:0]           err;         // 0 ok; else what went wrong (docs/rtl.md)
    output wire [BPC*32-1:0]    dr_addr;
    wire [BPC*32-1:0] ra_addr;
    input  wire [BPC*8-1:0]     dr_data;
    output wire [BPC-1:0]       dw_en;
    output wire [BPC*32-1:0]    dw_addr;
    output wire [BPC*8-1:0]     dw_data;
    wire [BPC-1:0]    wa_en, vu_wen;
    wire [BPC*32-1:0] wa_addr, vu_waddr, vu_raddr;
    wire [BPC*8-1:0]  wa_data, vu_wdata;
    wire              vu_busy;
    // The channels are the vector unit's during its layers, the DMAs' otherwise.
    assign dr_addr = vu_busy ? vu_raddr : ra_addr;
    assign dw_en = vu_busy ? vu_wen : wa_en;
    assign dw_addr = vu_busy ? vu_waddr : wa_addr;
    assign dw_data = vu_busy ? vu_wdata : wa_data;

    // ---------------------------------------------------------------- ROMs
    // (Loaded by $readmemh; without SYSTOLE_INIT nothing drives them.)
    /* verilator lint_off UNDRIVEN */
    reg [127:0]   irom  [0:INSTR_DEPTH-1];
    reg [W_W-1:0] wbank [0:WROM_BANKS*WROM_DEPTH-1];
    reg [63:0]    p_bias [0:PARAM_DEPTH-1];
    reg [31:0]    p_mult [0:PARAM_DEPTH-1];
    reg [7:0]     p_shift [0:PARAM_DEPTH-1];
    reg [16:0]    p_zero [0:PARAM_DEPTH-1];
    /* verilator lint_on UNDRIVEN */
`ifdef SYSTOLE_INIT
    initial begin
`include "systole_init.vh"
    end
`endif

    function [31:0] lt;
        input [NUM_LAYERS*32-1:0] tab;
        input [11:0] l;
        begin
            lt = (l < NUM_LAYERS) ? tab[l*32 +: 32] : 32'd0;
        end
    endfunction

    // ---------------------------------------------------------------- scanners
    wire [IAW-1:0] ra_r, ra_r2, ra_a, ra_a2, ra_w, ra_w2, ra_v, ra_v2;
    wire r_have, a_have, w_have, v_have;
    wire [127:0] r_word, r_fold, a_word, w_word, v_word;
    wire [127:0] a_fold_u, w_fold_u, v_fold_u;
    wire re_go, fold_go, we_go, ve_go;
    systole_scan #(.AW(IAW), .OPS(16'h000c), .WANT_FOLD(1)) s_rd (
        .clk(clk), .rst(rst), .take(re_go), .rom_addr(ra_r), .rom_data(irom[ra_r]),
        .rom_addr2(ra_r2), .rom_data2(irom[ra_r2]), .have(r_have), .word(r_word), .fold(r_fold));
    systole_scan #(.AW(IAW), .OPS(16'h0010)) s_ar (
        .clk(clk), .rst(rst), .take(fold_go), .rom_addr(ra_a), .rom_data(irom[ra_a]),
        .rom_addr2(ra_a2), .rom_data2(irom[ra_a2]), .have(a_have), .word(a_word), .fold(a_fold_u));
    systole_scan #(.AW(IAW), .OPS(16'h0020)) s_wr (
        .clk(clk), .rst(rst), .take(we_go), .rom_addr(ra_w), .rom_data(irom[ra_w]),
        .rom_addr2(ra_w2), .rom_data2(irom[ra_w2]), .have(w_have), .word(w_word), .fold(w_fold_u));
    systole_scan #(.AW(IAW), .OPS(16'h00c0)) s_vu (
        .clk(clk), .rst(rst), .take(ve_go), .rom_addr(ra_v), .rom_data(irom[ra_v]),
        .rom_addr2(ra_v2), .rom_data2(irom[ra_v2]), .have(v_have), .word(v_word), .fold(v_fold_u));
    assign ready = r_have & a_have & w_have & v_have;

    function [11:0] lay_of;  // END counts as the layer after the last
        input [127:0] w;
        begin
            lay_of = (w[127:124] == 4'd0) ? NUM_LAYERS[11:0] : w[119:108];
        end
    endfunction

    reg run;
    wire go_en = start | run;
    always @(posedge clk) begin
        if (rst) run <= 1'b0;
        else if (start) run <= 1'b1;
    end

    // Per engine: every instruction of the layers before `done_x` has ended (or ends at this
    // edge). The layer barrier is their minimum.
    wire [11:0] done_re, done_ae, done_we, done_ve;
    wire [11:0] m1 = (done_re < done_ae) ? done_re : done_ae;
    wire [11:0] m2 = (done_we < done_ve) ? done_we : done_ve;
    wire [11:0] done_all = go_en ? ((m1 < m2) ? m1 : m2) : 12'd0;
    assign finished = (layers_done == NUM_LAYERS[11:0]);
    always @(posedge clk) begin
        if (rst) layers_done <= 12'd0;
        else layers_done <= done_all;
    end

    // ---------------------------------------------------------------- array engine (state)
    wire fold_busy, fold_done;
    reg  [11:0] ae_layer;
    reg         ae_any;
    reg  [31:0] fcount, fe_cnt;
    wire [31:0] fe_eff = fe_cnt + {31'd0, fold_done};

    // ---------------------------------------------------------------- read DMA
    reg         re_busy, re_isfil, comp_any, re_wany;
    reg  [11:0] re_layer, comp_layer, re_wlayer;
    reg  [31:0] re_el, re_nb, re_bytes, re_step, comp_step, re_wbase, re_wnext;
    reg  [31:0] re_ms, re_ml, re_ks, re_kl, re_ns, re_nl;
    reg         re_slot;
    wire [11:0] r_lay = lay_of(r_word);
    wire        r_end = (r_word[127:124] == 4'd0);
    wire [31:0] r_step = {8'd0, r_word[107:84]};
    wire [31:0] r_bytes = r_word[75:44];
    wire        r_fil = (r_word[127:124] == 4'd3);
    wire        re_fin = re_busy && (re_el + 32'd1 == L + re_nb);
    assign done_re = (re_busy && !re_fin) ? re_layer : (r_have ? r_lay : re_layer);
    wire [31:0] r_depth = (r_fil ? FILTER_DB : IFMAP_DB) ? 32'd2 : 32'd1;
    wire        slot_free = (r_step < r_depth) ||
                            (ae_any && ae_layer == r_lay && fe_eff >= r_step - r_depth + 32'd1);
    assign re_go = go_en && (!re_busy || re_fin) && r_have && !r_end &&
                   (done_all >= r_lay) && slot_free;
    wire [31:0] r_wcur = (re_wany && re_wlayer == r_lay) ? re_wnext : lt(LT_WROM_BASE, r_lay);

    // The loads of step lr_j of layer lr_x (the array's next fold) are all in, or arrive at
    // this edge: the last completed load is of that step or later, and none of it is pending.
    wire [11:0] lr_x;
    wire [31:0] lr_j;
    wire        lr_any = re_fin | comp_any;
    wire [11:0] lr_cl = re_fin ? re_layer : comp_layer;
    wire [31:0] lr_cs = re_fin ? re_step : comp_step;
    wire        lr_pend = (re_busy && !re_fin && re_layer == lr_x && re_step == lr_j) ||
                          !r_have || (!r_end && r_lay == lr_x && r_step == lr_j);
    wire        lr_ok = lr_any && lr_cl == lr_x && lr_cs >= lr_j && !lr_pend;

    // im2col: DRAM address of A[m][k] of layer l, or padding (bit 32).
    function [32:0] a_addr;
        input [11:0] l;
        input [31:0] m;
        input [31:0] k;
        integer P, b, p, oy, ox, kk, ch, rr, ky, kx, iy, ix, H, W;
        begin
            H = lt(LT_H, l);
            W = lt(LT_W, l);
            P = lt(LT_OH, l) * lt(LT_OW, l);
            b = m / P;
            p = m % P;
            oy = p / lt(LT_OW, l);
            ox = p % lt(LT_OW, l);
            kk = lt(LT_KH, l) * lt(LT_KW, l);
            ch = k / kk;
            rr = k % kk;
            ky = rr / lt(LT_KW, l);
            kx = rr % lt(LT_KW, l);
            iy = oy * lt(LT_SH, l) - lt(LT_PH, l) + ky * lt(LT_DH, l);
            ix = ox * lt(LT_SW, l) - lt(LT_PW, l) + kx * lt(LT_DW, l);
            if (iy < 0 || iy >= H || ix < 0 || ix >= W)
                a_addr = {1'b1, 32'd0};
            else
                a_addr = {1'b0, lt(LT_IN_BASE, l) + b * lt(LT_IN_LEN, l) + ch * H * W +
                          iy * W + ix};
        end
    endfunction

    reg [7:0]  ifm [0:2*MAX_T*R-1];
    reg [7:0]  fil [0:2*FD*C-1];
    // Beat lanes of the read DMA (combinational): where each byte comes from and goes. Lane
    // `ln` of beat `bi` moves element e = bi*BPC + ln of the block (row-major A[m][k] or
    // B[k][n]).
    wire       re_beat = re_busy && (re_el + 32'd1 >= L) && (re_el + 32'd1 - L < re_nb);
    wire [31:0] re_bi = re_el + 32'd1 - L;
    wire [BPC-1:0]    rl_v;
    wire [BPC-1:0]    rl_pad;
    wire [BPC*32-1:0] rl_idx;
    wire [BPC*32-1:0] rl_w;
    genvar gl;
    generate
        for (gl = 0; gl < BPC; gl = gl + 1) begin : g_rl
            wire [31:0] e = re_bi * BPC + gl;
            wire        v = re_beat && (e < re_bytes);
            wire [31:0] dv = re_isfil ? re_nl : re_kl;
            wire [31:0] row = v ? e / dv : 32'd0;
            wire [31:0] col = v ? e % dv : 32'd0;
            wire [32:0] aa = (v && !re_isfil) ? a_addr(re_layer, re_ms + row, re_ks + col)
                                              : 33'd0;
            wire [31:0] slot = {31'd0, re_slot};
            assign rl_v[gl] = v;
            assign rl_pad[gl] = aa[32];
            assign ra_addr[gl*32 +: 32] = aa[31:0];
            assign rl_w[gl*32 +: 32] = col * WROM_DEPTH + re_wbase +
                                       ((DATAFLOW == 0) ? (R - 1 - row) : row);
            assign rl_idx[gl*32 +: 32] =
                re_isfil ? ((slot * FD + row) * C + col)
                         : ((DATAFLOW == 0) ? ((slot * MAX_T + row) * R + col)
                                            : ((slot * MAX_T + col) * R + row));
        end
    endgenerate
    wire [31:0] zx = lt(LT_ZX, re_layer);
    integer q;
    always @(posedge clk) begin
        if (rst) begin
            re_busy <= 1'b0;
            comp_any <= 1'b0;
            re_wany <= 1'b0;
            re_layer <= 12'd0;
            comp_layer <= 12'd0;
            comp_step <= 32'd0;
            re_el <= 32'd0;
        end else begin
            for (q = 0; q < BPC; q = q + 1) begin
                if (rl_v[q]) begin
                    if (re_isfil) fil[rl_idx[q*32 +: 32]] <= wbank[rl_w[q*32 +: 32]];
                    else ifm[rl_idx[q*32 +: 32]] <= rl_pad[q] ? zx[7:0] : dr_data[q*8 +: 8];
                end
            end
            if (re_fin) begin
                comp_any <= 1'b1;
                comp_layer <= re_layer;
                comp_step <= re_step;
            end
            if (re_go) begin
                re_busy <= 1'b1;
                re_el <= 32'd0;
                re_nb <= (r_bytes + BPC - 1) / BPC;
                re_bytes <= r_bytes;
                re_isfil <= r_fil;
                re_step <= r_step;
                re_layer <= r_lay;
                re_slot <= (r_fil ? (FILTER_DB != 0) : (IFMAP_DB != 0)) ? r_step[0] : 1'b0;
                re_ms <= {8'd0, r_fold[107:84]};
                re_ml <= {12'd0, r_fold[83:64]};
                re_ks <= {16'd0, r_fold[63:48]};
                re_kl <= {19'd0, r_fold[47:35]};
                re_ns <= {16'd0, r_fold[34:19]};
                re_nl <= {19'd0, r_fold[18:6]};
                if (r_fil) begin
                    re_wany <= 1'b1;
                    re_wlayer <= r_lay;
                    re_wbase <= r_wcur;
                    re_wnext <= r_wcur + ((DATAFLOW == 0) ? R : {19'd0, r_fold[47:35]});
                end
            end else if (re_fin) begin
                re_busy <= 1'b0;
            end else if (re_busy) begin
                re_el <= re_el + 32'd1;
            end
        end
    end

    // ---------------------------------------------------------------- array engine
    wire [11:0] a_lay = lay_of(a_word);
    wire        a_end = (a_word[127:124] == 4'd0);
    wire [31:0] j_next = (ae_any && ae_layer == a_lay) ? fcount : 32'd0;
    assign fold_go = go_en && (!fold_busy || fold_done) && a_have && !a_end &&
                     (done_all >= a_lay) && lr_ok;
    assign lr_x = a_lay;
    assign lr_j = j_next;
    assign done_ae = (fold_busy && !fold_done) ? ae_layer : (a_have ? a_lay : ae_layer);
    // The fold's geometry: the next one's at its start edge, then the latched one.
    reg  [31:0] c_ms, c_ml, c_ks, c_kl, c_ns, c_nl;
    reg  [3:0]  c_flags;
    reg         c_si, c_sf;
    wire [31:0] n_ml = {12'd0, a_word[83:64]};
    wire [31:0] n_kl = {19'd0, a_word[47:35]};
    wire [31:0] n_nl = {19'd0, a_word[18:6]};
    wire        n_si = (IFMAP_DB != 0) ? j_next[0] : 1'b0;
    wire        n_sf = (FILTER_DB != 0) ? j_next[0] : 1'b0;
    wire [31:0] g_ml = fold_go ? n_ml : c_ml;
    wire [31:0] g_kl = fold_go ? n_kl : c_kl;
    wire [31:0] g_nl = fold_go ? n_nl : c_nl;
    wire        g_si = fold_go ? n_si : c_si;
    wire        g_sf = fold_go ? n_sf : c_sf;
    wire [31:0] g_t = (DATAFLOW == 0) ? g_ml : g_kl;
    wire [11:0] g_lay = fold_go ? a_lay : ae_layer;
    wire        a_signed = lt(LT_A_SIGNED, g_lay) != 32'd0;

    wire          h_rd, v_rd;
    wire [15:0]   h_addr, v_addr;
    reg  [R*IN_W-1:0] h_data;
    reg  [C*W_W-1:0]  v_data;
    wire [C*ACC_W-1:0] y;
    wire [C-1:0]       y_vld;
    wire [R*C*ACC_W-1:0] acc;
    systole_fold #(
        .ROWS(R), .COLS(C), .DATAFLOW(DATAFLOW), .IN_W(IN_W), .W_W(W_W), .ACC_W(ACC_W), .T_W(16)
    ) u_fold (
        .clk(clk), .rst(rst), .start(fold_go), .t_len(g_t[15:0]), .a_signed(a_signed),
        .busy(fold_busy), .done(fold_done),
        .h_rd(h_rd), .h_addr(h_addr), .h_data(h_data),
        .v_rd(v_rd), .v_addr(v_addr), .v_data(v_data),
        .y(y), .y_vld(y_vld), .acc(acc)
    );
    integer r2, c2;
    reg [31:0] hidx, vidx;
    always @(posedge clk) begin
        if (h_rd) begin
            for (r2 = 0; r2 < R; r2 = r2 + 1) begin
                hidx = ({31'd0, g_si} * MAX_T + {16'd0, h_addr}) * R + r2;
                if ((DATAFLOW == 0 && r2 < g_kl) || (DATAFLOW != 0 && r2 < g_ml))
                    h_data[r2*IN_W +: IN_W] <= ifm[hidx][IN_W-1:0];
                else
                    h_data[r2*IN_W +: IN_W] <= {IN_W{1'b0}};
            end
        end
        if (v_rd) begin
            for (c2 = 0; c2 < C; c2 = c2 + 1) begin
                vidx = ({31'd0, g_sf} * FD + {16'd0, v_addr}) * C + c2;
                if (c2 < g_nl && (DATAFLOW != 0 || {16'd0, v_addr} < g_kl))
                    v_data[c2*W_W +: W_W] <= fil[vidx][W_W-1:0];
                else
                    v_data[c2*W_W +: W_W] <= {W_W{1'b0}};
            end
        end
    end
    always @(posedge clk) begin
        if (rst) begin
            ae_layer <= 12'd0;
            ae_any <= 1'b0;
            fcount <= 32'd0;
            fe_cnt <= 32'd0;
        end else if (fold_go) begin
            ae_layer <= a_lay;
            ae_any <= 1'b1;
            c_ms <= {8'd0, a_word[107:84]};
            c_ml <= n_ml;
            c_ks <= {16'd0, a_word[63:48]};
            c_kl <= n_kl;
            c_ns <= {16'd0, a_word[34:19]};
            c_nl <= n_nl;
            c_flags <= a_word[123:120];
            c_si <= n_si;
            c_sf <= n_sf;
            if (ae_any && ae_layer == a_lay) begin
                fcount <= fcount + 32'd1;
                fe_cnt <= fe_eff;
            end else begin
                fcount <= 32'd1;
                fe_cnt <= 32'd0;
            end
        end else begin
            fe_cnt <= fe_eff;
        end
    end

    // Output context: the fold whose sums leave the array now (updated one edge after a start,
    // when the previous fold's last sums have been taken).
    reg        started_q, done_q;
    reg [31:0] o_ms, o_ml, o_ns, o_nl;
    reg [3:0]  o_flags;
    reg [11:0] o_lay;
    reg [31:0] colcnt [0:C-1];
    reg [ACC_W-1:0] ps [0:PSD-1];
    reg [31:0] ring_a [0:RING-1];
    reg [ACC_W-1:0] ring_v [0:RING-1];
    reg [15:0] ring_n [0:RING-1];
    reg [RING_AW:0] wp, rp;
    // The output address of C[m][n] (sample-major, [n][pixel] per sample).
    function [31:0] out_addr;
        input [11:0] l;
        input [31:0] m;
        input [31:0] n;
        integer P, b, p;
        begin
            P = lt(LT_OH, l) * lt(LT_OW, l);
            b = m / P;
            p = m % P;
            out_addr = lt(LT_OUT_BASE, l) +
                       ((b * lt(LT_N, l) + n) * P + p) * lt(LT_OUT_BYTES, l);
        end
    endfunction
    integer i3, r3, c3, np;
    reg [31:0] t3, pidx, mm, nn;
    reg [ACC_W-1:0] s3;
    reg [RING_AW:0] slot3;
    always @(posedge clk) begin
        if (rst) begin
            started_q <= 1'b0;
            done_q <= 1'b0;
            wp <= {(RING_AW+1){1'b0}};
            for (i3 = 0; i3 < C; i3 = i3 + 1) colcnt[i3] <= 32'd0;
        end else begin
            started_q <= fold_go;
            done_q <= fold_done;
            np = 0;
            if (DATAFLOW == 0) begin
                for (c3 = 0; c3 < C; c3 = c3 + 1) begin
                    if (y_vld[c3]) begin
                        t3 = colcnt[c3];
                        colcnt[c3] <= t3 + 32'd1;
                        if (c3 < o_nl && t3 < o_ml) begin
                            pidx = c3 * MAX_T + t3;
                            s3 = (o_flags[0] ? ps[pidx] : {ACC_W{1'b0}}) + y[c3*ACC_W +: ACC_W];
                            if (o_flags[1]) begin
                                mm = o_ms + t3;
                                nn = o_ns + c3;
                                slot3 = wp + np[RING_AW:0];
                                ring_a[slot3[RING_AW-1:0]] <= out_addr(o_lay, mm, nn);
                                ring_v[slot3[RING_AW-1:0]] <= s3;
                                ring_n[slot3[RING_AW-1:0]] <= nn[15:0];
                                np = np + 1;
                            end else begin
                                ps[pidx] <= s3;
                            end
                        end
                    end
                end
            end else if (done_q) begin
                for (r3 = 0; r3 < R; r3 = r3 + 1) begin
                    for (c3 = 0; c3 < C; c3 = c3 + 1) begin
                        if (r3 < o_ml && c3 < o_nl) begin
                            pidx = r3 * C + c3;
                            s3 = (o_flags[0] ? ps[pidx] : {ACC_W{1'b0}}) +
                                 acc[(r3*C+c3)*ACC_W +: ACC_W];
                            if (o_flags[1]) begin
                                mm = o_ms + r3;
                                nn = o_ns + c3;
                                slot3 = wp + np[RING_AW:0];
                                ring_a[slot3[RING_AW-1:0]] <= out_addr(o_lay, mm, nn);
                                ring_v[slot3[RING_AW-1:0]] <= s3;
                                ring_n[slot3[RING_AW-1:0]] <= nn[15:0];
                                np = np + 1;
                            end else begin
                                ps[pidx] <= s3;
                            end
                        end
                    end
                end
            end
            wp <= wp + np[RING_AW:0];
            if (started_q) begin
                o_ms <= c_ms;
                o_ml <= c_ml;
                o_ns <= c_ns;
                o_nl <= c_nl;
                o_flags <= c_flags;
                o_lay <= ae_layer;
                for (i3 = 0; i3 < C; i3 = i3 + 1) colcnt[i3] <= 32'd0;
            end
        end
    end

    // ---------------------------------------------------------------- write DMA
    reg         we_busy;
    reg  [11:0] we_layer;
    reg  [31:0] we_el, we_nb, we_total;
    wire [11:0] w_lay = lay_of(w_word);
    wire        w_end = (w_word[127:124] == 4'd0);
    wire [31:0] w_step = {8'd0, w_word[107:84]};
    wire [31:0] w_bytes = w_word[75:44];
    wire        we_fin = we_busy && (we_el + 32'd1 == L + we_nb);
    assign done_we = (we_busy && !we_fin) ? we_layer : (w_have ? w_lay : we_layer);
    assign we_go = go_en && (!we_busy || we_fin) && w_have && !w_end && (done_all >= w_lay) &&
                   ae_any && ae_layer == w_lay && fe_eff >= w_step + 32'd1;
    wire [31:0] ob = lt(LT_OUT_BYTES, we_layer);
    wire [31:0] epb = BPC / ob;
    wire [31:0] we_bi = we_el + 32'd1 - L;
    wire        we_beat = we_busy && (we_el + 32'd1 >= L) && (we_bi < we_nb);
    wire [31:0] left = we_total - we_bi * epb;
    wire [31:0] we_cnt = we_beat ? ((left < epb) ? left : epb) : 32'd0;
    wire [31:0] pbase = lt(LT_PBASE, we_layer);
    wire [31:0] l_bw = lt(LT_BIAS_W, we_layer);
    wire [31:0] l_bits = lt(LT_OUT_BITS, we_layer);
    wire        l_osg = lt(LT_OUT_SIGNED, we_layer) != 32'd0;
    wire        l_relu = lt(LT_RELU, we_layer) != 32'd0;
    wire [BPC*32-1:0] yq_bus;
    genvar gi;
    generate
        for (gi = 0; gi < BPC; gi = gi + 1) begin : g_rq
            wire [RING_AW:0] at = rp + gi;
            wire [15:0] ch = ring_n[at[RING_AW-1:0]];
            wire [31:0] pi = pbase + {16'd0, ch};
            systole_requant #(.ACC_W(ACC_W)) u_rq (
                .acc(ring_v[at[RING_AW-1:0]]), .bias_raw(p_bias[pi]),
                .bias_w(l_bw[6:0]), .m0(p_mult[pi]), .shift(p_shift[pi]),
                .zero(p_zero[pi]), .bits(l_bits[5:0]), .out_signed(l_osg), .relu(l_relu),
                .y(yq_bus[gi*32 +: 32]));
        end
    endgenerate
    // Write lanes: entry i of the beat (requantized by lane i) goes out as `ob` bytes on lanes
    // i*ob .. i*ob+ob-1, little-endian.
    generate
        for (gl = 0; gl < BPC; gl = gl + 1) begin : g_wl
            wire [31:0] i = (ob == 32'd0) ? 32'd0 : gl / ob;
            wire [31:0] b = (ob == 32'd0) ? 32'd0 : gl % ob;
            wire [RING_AW:0] at = rp + i[RING_AW:0];
            wire [31:0] yv = yq_bus[i[5:0]*32 +: 32];
            assign wa_en[gl] = (i < we_cnt);
            assign wa_addr[gl*32 +: 32] = ring_a[at[RING_AW-1:0]] + b;
            assign wa_data[gl*8 +: 8] = yv[b[1:0]*8 +: 8];
        end
    endgenerate
    always @(posedge clk) begin
        if (rst) begin
            we_busy <= 1'b0;
            we_layer <= 12'd0;
            we_el <= 32'd0;
            rp <= {(RING_AW+1){1'b0}};
            err <= 8'd0;
        end else begin
            rp <= rp + we_cnt[RING_AW:0];
            if ((wp - rp) > RING - NPUSH) err <= 8'd1;  // output queue overflow
            if (we_go) begin
                we_busy <= 1'b1;
                we_el <= 32'd0;
                we_nb <= (w_bytes + BPC - 1) / BPC;
                we_total <= w_bytes / lt(LT_OUT_BYTES, w_lay);
                we_layer <= w_lay;
            end else if (we_fin) begin
                we_busy <= 1'b0;
            end else if (we_busy) begin
                we_el <= we_el + 32'd1;
            end
            if (vu_err) err <= 8'd2;  // the vector unit's lanes cannot make every output
        end
    end

    // ---------------------------------------------------------------- vector unit
    wire [11:0] v_lay = lay_of(v_word);
    wire        v_end = (v_word[127:124] == 4'd0);
    wire        vu_fin, vu_err;
    reg  [11:0] ve_layer;
    assign ve_go = go_en && (!vu_busy || vu_fin) && v_have && !v_end && (done_all >= v_lay);
    assign done_ve = (vu_busy && !vu_fin) ? ve_layer : (v_have ? v_lay : ve_layer);
    always @(posedge clk) begin
        if (rst) ve_layer <= 12'd0;
        else if (ve_go) ve_layer <= v_lay;
    end
    systole_vector u_vec (
        .clk(clk), .rst(rst), .go(ve_go), .layer(v_lay),
        .elements((v_word[127:124] == 4'd6) ? v_word[91:60] : 32'd0),
        .busy(vu_busy), .fin(vu_fin), .dr_addr(vu_raddr), .dr_data(dr_data),
        .dw_en(vu_wen), .dw_addr(vu_waddr), .dw_data(vu_wdata), .err(vu_err)
    );
    /* verilator lint_on UNUSEDSIGNAL */
    /* verilator lint_on BLKSEQ */
endmodule
