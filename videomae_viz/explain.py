"""The app's teaching texts: what each panel shows and how to read it, in plain language."""

HEADLINE = """\
# VideoMAE lab
Pick an example (or upload a clip), choose how much to hide, and see what a masked autoencoder rebuilds from the rest.
"""

INTRO = """\
Upload a short clip (or pick an example) and press **Analyse**. You will see what a **VideoMAE** classifier
predicts, how its masked autoencoder rebuilds the clip from a small fraction of its patches, and where its
attention goes. The default models are two tiny VideoMAEs we trained ourselves; they run offline on a CPU. The
**masked autoencoder** was trained on real footage and photographs: the first examples are scenes it never saw.
The **classifier** knows 8 generated motions (such as *moving left* or *rotating clockwise*), so its labels mean
something only for clips like the generated examples; it answers with the average over 8 mirrored and transposed
views of the clip (95.5% of held-out generated clips right). Their model cards in `assets/` give every number.
"""

PIPELINE = """\
**How VideoMAE works, step by step**
1. **Patchify.** The clip (16 frames) is cut into *tubelets*: 2 frames x 16 x 16 pixels in the MCG-NJU models,
   4 frames x 12 x 12 pixels in the embedded classifier, 4 x 8 x 8 in the embedded
   reconstructor. Each becomes one token.
2. **Tube masking.** A random 90% of the positions are hidden, and the *same* positions stay hidden in every
   frame. (With random per-frame masking a hidden patch is usually visible in the next frame, so the task would
   be copying, not understanding.)
3. **Encoder on visible tokens only.** The transformer sees just the ~10% visible tokens, which is why
   pre-training is cheap.
4. **Decoder.** A small transformer gets the encoded visible tokens plus a learned *mask token* at every hidden
   position, and predicts the pixels of each hidden tubelet.
5. **Loss.** Mean squared error on the hidden tubelets only.

Why can video afford 90%? Neighbouring frames repeat each other, so a clip carries far less information than
its pixel count suggests; with a lower ratio the model could fill the gaps by copying from nearby patches.
For classification the decoder is dropped; the encoder sees **all** tokens, their mean goes through a norm
layer and a linear head. VideoMAE has **no [CLS] token**.
"""

LAB = """\
**Reading the masking lab.** *original*: the frames the model sees (resized, cropped). *masked*: what the encoder
gets, hidden tubelets grey. *prediction*: what the decoder produced, alone (VideoMAE predicts hidden patches
only, so visible ones are grey). *+ visible*: the prediction with the visible patches pasted back.
*interpolation*: no network at all, a Gaussian blur of the visible pixels that ignores the holes, its width chosen
from the visible pixels alone: the smoothing a decoder has to beat to have learned more than "nearby colours".
The **PSNR** is measured on hidden pixels only, and nothing about a hidden patch enters any prediction. Beside the
decoder: the **mean colour** of the frame's visible patches, the **interpolation**, and **copy**, each hidden patch
taken from the nearest frame where the same patch is visible. Copy is the shortcut random masking leaves open: it is
impossible under tube masking, which is why VideoMAE hides the same positions in every frame. Blurry predictions are
expected: averaging over plausible answers minimises squared error.
"""

SAMPLING = """\
16 frames. Without a stride or a segment, each preset samples as its models were trained: the Kinetics models and
the embedded reconstructor take 16 frames 4 apart in a window centred in the clip (a clip too short for that window
is spread evenly); the Something-Something models and the generated-motion pair spread them over the whole clip. A
stride you set (0: spread evenly) or a segment wins; the counters list the frames used.
"""

STATS = """\
**Hidden-patch statistics.** The MCG-NJU checkpoints were trained with `norm_pix_loss`: they predict each
patch *normalised by its own mean and standard deviation*, so turning a prediction back into pixels needs
those statistics. *paper* uses the hidden patches' **true** statistics, as the official visualisation does:
it leaks information about what was hidden and makes reconstructions look better than they are. *leak-free*
estimates them from the nearest visible patches. The embedded model predicts raw pixels and needs neither.
"""

ATTENTION = {
    "query patch": """\
**Query patch.** Click a patch in the strip above: the map shows where that token looks in the chosen layer
(one row of softmax(QK^T/sqrt(d))), for one head or the mean over heads. Rows sum to 1 over all space-time
tokens, so the panels show how attention splits between this moment and others.""",
    "attention received": """\
**Attention received.** For each token, the average attention it gets from all queries in the chosen layer.
Because the classifier averages all tokens, this is a natural stand-in for "what the output looks at", but
it also lights up *attention sinks*: tokens many heads park attention on.""",
    "rollout": """\
**Attention rollout** (Abnar & Zuidema 2020). Attention is chained through the layers up to the chosen one,
with the residual connection counted as (A + I)/2, and read out for mean pooling (the mean of the rows, since
VideoMAE has no [CLS] token). Heads are averaged. It shows how information from each input token can reach the
pooled output.""",
    "class relevance": """\
**Class relevance** (Chefer et al. 2021). Attention weighted by the gradient of the chosen class's score
(negative evidence clipped), accumulated through the layers and read out for mean pooling. Unlike the other
views it changes with the class: compare the top classes. It costs one backward pass.""",
}

ATTENTION_NOTE = """\
Maps are per token (one tubelet), drawn with nearest-neighbour upsampling at 55% opacity over
the first frame of each time slice; the colour bar gives values, the bars below the share per time slice.
Attention is not an explanation: treat these as measurements of the model's internal routing. The maps come
from the classifying forward pass itself: it computes attention in blocks of query rows and adds each block
into the maps as it goes; a clicked patch's rows are recomputed from the queries and keys it kept.
"""

REVERSED = ("The same frames played backwards, answered in a second panel. A model that uses motion should change "
            "its answer (left becomes right, growing becomes shrinking); one that only looks at single frames would "
            "not.")

SPACE_TIME = """\
**Space or time.** For every layer and head, the share of its attention that stays in the query's own time slice,
averaged over all queries (from the recorded attention, no extra pass). A head that keeps near 100% looks at its
own moment only, like an image model; one near 1/t (25% with 4 time slices) spreads evenly over time; below that, it
looks away from its own moment, across time.
"""

# The guided lesson: (title, the question the room answers before the reveal). {frames}, {side}, {tokens},
# {ratio} and {masking} are the analysed clip's model and settings.
LESSON = (
    ("1. Tubelets", "The model gets {frames} frames of {side} x {side} pixels. Into how many tokens does it cut "
                    "them, and how big is one token?"),
    ("2. The mask", "At {ratio} {masking} masking, how many of the {tokens} tokens will the encoder see?"),
    ("3. Encoder input", "The encoder gets only the visible tokens. What share of a full pass over all {tokens} "
                         "tokens does that cost: more or less than the share of tokens it sees?"),
    ("4. Which mask?", "Tube, random, frame or running-cell, all at {ratio}: under which one will the decoder "
                       "score best, and which one can a copy from the next frame already solve?"),
    ("5. Prediction", "The decoder never sees a hidden patch. Will its guess be sharp, blurry, or one flat "
                      "colour?"),
    ("6. Errors", "Where will the error be largest: on the parts that move, or on the still background?"),
    ("7. One answer", "VideoMAE has no [CLS] token. How does the classifier turn its tokens into one answer?"),
)

STRATEGIES = """\
**Masking strategies.** *tube*: the same positions hidden in every frame (VideoMAE). *random*: any token, so a hidden
patch is often visible a frame later. *frame*: whole time slices. *running-cell*: VideoMAE v2's 2 x 2 cell that
rotates from slice to slice. The mask seed picks which positions.
"""

DRAW = """\
**Draw your own mask.** Choose the hidden patches yourself: click a patch on the frame to hide it in every frame (a
tube), click again to show it. Or start from *hide what moves* (the half of the positions that change most over the
clip) or *hide what stays still* (the half that change least), both the same number of patches, then reconstruct and
compare: the table keeps every run. Your mask goes through the same model and scoring as the generated ones.
"""

LESSON_INTRO = """\
**A lesson in seven steps**, on the clip you analysed (analyse one first; the steps use its mask and numbers). Each step
asks one question: answer it in the room, then reveal the picture and the answer.
"""
